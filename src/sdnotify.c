/* kvfence: sd_notify(3) without libsystemd. See sdnotify.h. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"

/* Parse a decimal unsigned number that fills all of S; 0 when it does not. */
static uint64_t parse_u64(const char *s)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return 0;
	return v;
}

int sdnotify_send(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	socklen_t len;
	size_t n;
	ssize_t r;
	int fd, saved;

	if (path == NULL || *path == '\0')
		return 0;
	n = strlen(path);
	/* A file system path, or '@' for the abstract namespace (no
	 * terminating NUL in the address). Other forms (vsock:) are for
	 * virtual machines, not services. */
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(addr.sun_path))
		return -EAFNOSUPPORT;
	memcpy(addr.sun_path, path, n);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if (path[0] == '@')
		addr.sun_path[0] = '\0';
	else
		len++;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&addr, len);
	saved = errno;
	close(fd);
	if (r < 0)
		return -saved;
	return 1;
}

uint64_t sdnotify_watchdog_usec(void)
{
	const char *pid = getenv("WATCHDOG_PID");

	/* Set for another process (a wrapper that forked us): not ours. */
	if (pid != NULL && parse_u64(pid) != (uint64_t)getpid())
		return 0;
	return parse_u64(getenv("WATCHDOG_USEC"));
}
