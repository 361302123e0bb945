/* kvfence benchmark: the latency of DNS answers, one query at a time
 * (UDP, A), for each name of a file. Run against the resolver alone (the
 * floor) and against kvfence's proxy in front of it; the difference is
 * what the proxy adds.
 *
 *   proxy-latency ADDR PORT NAMEFILE
 *
 * Prints: "n=N ok=K p50_us=... p99_us=... max_us=..." (ok: NOERROR
 * answers with the query's id). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static size_t build_query(uint8_t *b, uint16_t id, const char *name)
{
	size_t n = 12;
	const char *s = name;

	memset(b, 0, 12);
	b[0] = (uint8_t)(id >> 8);
	b[1] = (uint8_t)id;
	b[2] = 0x01;	/* RD */
	b[5] = 1;	/* QDCOUNT */
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);

		b[n++] = (uint8_t)l;
		memcpy(b + n, s, l);
		n += l;
		s += l + (dot ? 1 : 0);
	}
	b[n++] = 0;
	b[n++] = 0;
	b[n++] = 1;	/* A */
	b[n++] = 0;
	b[n++] = 1;	/* IN */
	return n;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char line[300];
	uint8_t q[512], r[4096];
	int64_t *lat = NULL;
	size_t n = 0, cap = 0, ok = 0;
	FILE *f;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: proxy-latency ADDR PORT NAMEFILE\n");
		return 64;
	}
	inet_pton(AF_INET, argv[1], &sa.sin_addr);
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("socket");
		return 1;
	}
	f = fopen(argv[3], "r");
	if (!f) {
		perror(argv[3]);
		return 1;
	}
	srand((unsigned)now_ns());
	while (fgets(line, sizeof(line), f)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint16_t id = (uint16_t)rand();
		size_t ql;
		int64_t t0;
		ssize_t k;

		line[strcspn(line, " \n")] = '\0';
		if (!line[0])
			continue;
		ql = build_query(q, id, line);
		t0 = now_ns();
		if (send(fd, q, ql, 0) < 0)
			continue;
		if (poll(&p, 1, 3000) <= 0 || (k = recv(fd, r, sizeof(r), 0)) < 12)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			lat = realloc(lat, cap * sizeof(*lat));
		}
		lat[n++] = now_ns() - t0;
		if (r[0] == q[0] && r[1] == q[1] && (r[3] & 0x0f) == 0)
			ok++;
	}
	fclose(f);
	if (n == 0) {
		printf("n=0\n");
		return 1;
	}
	qsort(lat, n, sizeof(*lat), cmp64);
	printf("n=%zu ok=%zu p50_us=%lld p99_us=%lld max_us=%lld\n", n, ok,
	       (long long)lat[n / 2] / 1000, (long long)lat[(n * 99) / 100] / 1000,
	       (long long)lat[n - 1] / 1000);
	free(lat);
	return 0;
}
