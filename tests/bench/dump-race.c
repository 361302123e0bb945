/* dump-race: read one set again and again through kvfence's own reader
 * (nftread_elems: GETGEN, dump, GETGEN, again on a change) for a number of
 * seconds and count the reads that came back with another number of
 * elements than expected, or with a key twice. Run beside a writer that
 * replaces the set's elements (tests/bench/dump-race.sh): a read that is
 * short or doubled with no generation change is the kernel's set dump
 * resumed by skip count across a hash table resize.
 *
 *   dump-race TABLE SET EXPECTED SECONDS   (inet family, ipv4_addr . inet_service)
 *
 * Prints "reads=R short=S long=L dup=D min=M max=X disagreed=G": G reads
 * had two dumps of one generation disagree and were read again (what
 * reads would have come back wrong without that). */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kvfence.h"
#include "elem.h"
#include "nftread.h"

#ifndef NFPROTO_INET
#define NFPROTO_INET 1
#endif

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct setref ref = { .family = NFPROTO_INET };
	struct nlsock *ctx;
	struct elem_list l = { 0 };
	unsigned long reads = 0, shortr = 0, longr = 0, dupr = 0;
	size_t expected, min = (size_t)-1, max = 0, i, n;
	double end;
	char err[KVF_ERRLEN];

	if (argc != 5) {
		fprintf(stderr, "usage: dump-race TABLE SET EXPECTED SECONDS\n");
		return 64;
	}
	ref.table = argv[1];
	ref.name = argv[2];
	expected = strtoul(argv[3], NULL, 10);
	end = now_s() + atof(argv[4]);
	if (nlsock_open(&ctx) < 0) {
		fprintf(stderr, "netlink socket failed\n");
		return 69;
	}
	while (now_s() < end) {
		elem_list_clear(&l);
		if (nftread_elems(ctx, &ref, KEY_IPV4_PORT, &l, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			continue;
		}
		reads++;
		n = l.n;
		min = n < min ? n : min;
		max = n > max ? n : max;
		elem_list_sort(&l);
		for (i = 1; i < l.n; i++)
			if (elem_key_cmp(&l.v[i - 1], &l.v[i]) == 0)
				break;
		if (i < l.n)
			dupr++;
		if (n < expected)
			shortr++;
		else if (n > expected)
			longr++;
		if (n != expected || i < l.n)
			fprintf(stderr, "read %lu: %zu elements of %zu%s\n", reads, n, expected,
				i < l.n ? ", a key twice" : "");
	}
	printf("reads=%lu short=%lu long=%lu dup=%lu min=%zu max=%zu disagreed=%llu\n", reads,
	       shortr, longr, dupr, min == (size_t)-1 ? 0 : min, max,
	       (unsigned long long)nlsock_dumps_disagreed(ctx));
	elem_list_free(&l);
	nlsock_close(ctx);
	return 0;
}
