/* kvfence benchmark: the resolve floor. The least a c-ares 1.18.1 program
 * can do to resolve the same names as kvfence: one channel with kvfence's
 * options, one getaddrinfo per family per name, the same bound of calls in
 * flight (RESOLVER_MAX_INFLIGHT = 64), the next call started from the
 * answer callback; answers are counted and freed, nothing else.
 *
 * usage: resolve-floor NAMES_FILE SERVER_IPV4
 * prints: names=N addrs4=A addrs6=B cnames=C failed=F ms=T */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ares.h>

#define MAX_INFLIGHT	64	/* RESOLVER_MAX_INFLIGHT in include/resolver.h */
#define MAX_FDS		64

static char **names;
static size_t n_names, next_name, done_calls;
static unsigned inflight;
static unsigned long addrs4, addrs6, cnames, failed;
static ares_channel ch;
static int fds[MAX_FDS], n_fds;
static short fd_ev[MAX_FDS];

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	int i;

	(void)data;
	for (i = 0; i < n_fds && fds[i] != fd; i++)
		;
	if (!readable && !writable) {
		if (i < n_fds) {
			fds[i] = fds[--n_fds];
			fd_ev[i] = fd_ev[n_fds];
		}
		return;
	}
	if (i == n_fds) {
		if (n_fds == MAX_FDS)
			abort();
		fds[n_fds++] = fd;
	}
	fd_ev[i] = (short)((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
}

static void pump(void);

static void answered(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct ares_addrinfo_node *n;
	struct ares_addrinfo_cname *c;

	(void)timeouts;
	if (status != ARES_SUCCESS || !ai) {
		failed++;
	} else {
		for (n = ai->nodes; n; n = n->ai_next) {
			if (n->ai_family == AF_INET)
				addrs4++;
			else
				addrs6++;
		}
		if (arg == NULL)	/* count the chain once per name */
			for (c = ai->cnames; c; c = c->next)
				cnames++;
	}
	if (ai)
		ares_freeaddrinfo(ai);
	inflight--;
	done_calls++;
	pump();
}

static void pump(void)
{
	static const struct ares_addrinfo_hints h4 = { .ai_family = AF_INET,
						       .ai_flags = ARES_AI_NOSORT };
	static const struct ares_addrinfo_hints h6 = { .ai_family = AF_INET6,
						       .ai_flags = ARES_AI_NOSORT };
	static int pumping;

	if (pumping)
		return;
	pumping = 1;
	while (next_name < n_names && inflight + 2 <= MAX_INFLIGHT) {
		const char *name = names[next_name++];

		inflight += 2;
		ares_getaddrinfo(ch, name, NULL, &h4, answered, NULL);
		ares_getaddrinfo(ch, name, NULL, &h6, answered, (void *)1);
	}
	pumping = 0;
}

static void read_names(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	size_t cap = 0;

	if (!f) {
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		if (n_names == cap) {
			cap = cap ? cap * 2 : 1024;
			names = realloc(names, cap * sizeof(*names));
		}
		names[n_names++] = strdup(line);
	}
	fclose(f);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	static char lookups[] = "b";
	struct ares_addr_port_node server = { .family = AF_INET, .udp_port = 53,
					      .tcp_port = 53 };
	struct ares_options o = { 0 };
	struct pollfd pfd[MAX_FDS];
	struct timeval tv, *t;
	double t0;
	int i, n, ms;

	if (argc != 3 || inet_pton(AF_INET, argv[2], &server.addr.addr4) != 1) {
		fprintf(stderr, "usage: resolve-floor NAMES_FILE SERVER_IPV4\n");
		return 2;
	}
	read_names(argv[1]);
	t0 = now_ms();
	ares_library_init(ARES_LIB_INIT_ALL);
	/* kvfence's channel (src/resolver.c channel_init). */
	o.timeout = 1500;
	o.tries = 2;
	o.ndots = 1;
	o.lookups = lookups;
	o.sock_state_cb = sock_state;
	if (ares_init_options(&ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS |
			      ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB |
			      ARES_OPT_NOROTATE) != ARES_SUCCESS ||
	    ares_set_servers_ports(ch, &server) != ARES_SUCCESS) {
		fprintf(stderr, "resolve-floor: c-ares init failed\n");
		return 1;
	}
	pump();
	while (done_calls < 2 * n_names) {
		for (i = 0; i < n_fds; i++) {
			pfd[i].fd = fds[i];
			pfd[i].events = fd_ev[i];
			pfd[i].revents = 0;
		}
		t = ares_timeout(ch, NULL, &tv);
		ms = t ? (int)(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000) : 1000;
		n = n_fds;
		if (poll(pfd, (nfds_t)n, ms) <= 0) {
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (i = 0; i < n; i++)
			if (pfd[i].revents)
				ares_process_fd(ch,
						pfd[i].revents & (POLLIN | POLLERR | POLLHUP) ?
						pfd[i].fd : ARES_SOCKET_BAD,
						pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD);
	}
	ares_destroy(ch);
	ares_library_cleanup();
	printf("names=%zu addrs4=%lu addrs6=%lu cnames=%lu failed=%lu ms=%.3f\n", n_names,
	       addrs4, addrs6, cnames, failed, now_ms() - t0);
	return failed ? 1 : 0;
}
