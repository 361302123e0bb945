/* kvfence benchmark: the refill observer. Subscribes to the nftables
 * notifications (NFNLGRP_NFTABLES, as `nft monitor`), then runs a command
 * (the flush and reload of the ruleset) and follows, event by event, how
 * many elements each of two sets holds: DELTABLE/DELSET empty them,
 * NEWSETELEM/DELSETELEM add and remove. Every transaction ends with
 * NEWGEN naming the committing process; times are taken on reception
 * (CLOCK_MONOTONIC, microseconds) relative to just before the command
 * was started.
 *
 * usage: refill-observer TABLE SET4 N4 SET6 N6 TIMEOUT_MS CMD [ARGS...]
 * prints one line: refill_ms=... flush_ms=... full_ms=... ready_ms=... gens=...
 *   flush_ms: the first transaction end seen (the flush, which empties the sets)
 *   full_ms: the transaction end after which both sets hold N4 and N6 again
 *   refill_ms: full_ms - flush_ms, what the agent took
 *   ready_ms: full and the command finished (rules reloaded, sets full)
 *   gens: every transaction end, committer@ms(elements in set4/set6)
 * Exit 0 when ready was reached, 1 otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>

static const char *table, *set4, *set6;
static long want4, want6, have4, have6;
static double t0, first_gen_ms = -1, full_ms = -1, ready_ms = -1, cmd_done_ms = -1;
static unsigned lost, cmd_gens;
static char gens[4096];
static size_t gens_len;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6 - t0;
}

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t t = mnl_attr_get_type(a);

	if (t < 8)
		tb[t] = a;
	return MNL_CB_OK;
}

static const char *str_attr(const struct nlattr *a)
{
	return a && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0 ? mnl_attr_get_str(a) : NULL;
}

static long *counter(const char *tbl, const char *set)
{
	if (!tbl || strcmp(tbl, table) != 0 || !set)
		return NULL;
	if (strcmp(set, set4) == 0)
		return &have4;
	if (strcmp(set, set6) == 0)
		return &have6;
	return NULL;
}

static void on_gen(const struct nlmsghdr *nlh, double t)
{
	const struct nlattr *tb[8] = { NULL };
	const char *name;
	uint32_t pid = 0;

	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb);
	if (tb[NFTA_GEN_PROC_PID])
		pid = ntohl(mnl_attr_get_u32(tb[NFTA_GEN_PROC_PID]));
	name = str_attr(tb[NFTA_GEN_PROC_NAME]);
	if (name && strcmp(name, "nft") == 0)
		cmd_gens++;
	if (first_gen_ms < 0)
		first_gen_ms = t;
	if (gens_len < sizeof(gens) - 100)
		gens_len += (size_t)snprintf(gens + gens_len, sizeof(gens) - gens_len,
					     "%s%s@%.2f(%ld/%ld)", gens_len ? "," : "",
					     name ? name : "?", t, have4, have6);
	(void)pid;
	/* The start of the current full period. */
	if (have4 >= want4 && have6 >= want6) {
		if (full_ms < 0)
			full_ms = t;
	} else {
		full_ms = -1;
	}
}

static void on_msg(const struct nlmsghdr *nlh, double t)
{
	const struct nlattr *tb[8] = { NULL }, *a;
	int type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	long *c, n = 0;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return;
	if (type == NFT_MSG_NEWGEN) {
		on_gen(nlh, t);
		return;
	}
	if (type != NFT_MSG_DELTABLE && type != NFT_MSG_DELSET &&
	    type != NFT_MSG_NEWSETELEM && type != NFT_MSG_DELSETELEM)
		return;
	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb);
	if (type == NFT_MSG_DELTABLE) {
		const char *tn = str_attr(tb[NFTA_TABLE_NAME]);

		if (tn && strcmp(tn, table) == 0)
			have4 = have6 = 0;
		return;
	}
	/* NFTA_SET_TABLE / NFTA_SET_ELEM_LIST_TABLE = 1, NAME / SET = 2 */
	c = counter(str_attr(tb[1]), str_attr(tb[2]));
	if (!c)
		return;
	if (type == NFT_MSG_DELSET) {
		*c = 0;
		return;
	}
	if (tb[NFTA_SET_ELEM_LIST_ELEMENTS])
		mnl_attr_for_each_nested(a, tb[NFTA_SET_ELEM_LIST_ELEMENTS])
			n++;
	*c += type == NFT_MSG_NEWSETELEM ? n : -n;
}

int main(int argc, char **argv)
{
	static char buf[256 * 1024];
	struct mnl_socket *nl;
	unsigned group = NFNLGRP_NFTABLES;
	int size = 256 << 20, fd, status, timeout;
	struct timespec ts;
	pid_t child;

	if (argc < 8) {
		fprintf(stderr, "usage: refill-observer TABLE SET4 N4 SET6 N6 TIMEOUT_MS CMD...\n");
		return 2;
	}
	table = argv[1];
	set4 = argv[2];
	want4 = atol(argv[3]);
	set6 = argv[4];
	want6 = atol(argv[5]);
	timeout = atoi(argv[6]);
	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		perror("refill-observer: netlink");
		return 2;
	}
	fd = mnl_socket_get_fd(nl);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		perror("refill-observer: SO_RCVBUFFORCE");
	/* The sets are full when the command starts: it empties them. */
	have4 = want4;
	have6 = want6;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
	child = fork();
	if (child == 0) {
		execvp(argv[7], argv + 7);
		_exit(127);
	}
	while (now_ms() < timeout) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (cmd_done_ms < 0 && waitpid(child, &status, WNOHANG) == child)
			cmd_done_ms = now_ms();
		if (full_ms >= 0 && cmd_done_ms >= 0 && ready_ms < 0)
			ready_ms = full_ms > cmd_done_ms ? full_ms : cmd_done_ms;
		if (ready_ms >= 0)
			break;
		if (poll(&p, 1, 5) <= 0)
			continue;
		while ((n = recv(fd, buf, sizeof(buf), 0)) != 0) {
			const struct nlmsghdr *nlh = (const void *)buf;
			int left = (int)n;
			double t = now_ms();

			if (n < 0 && errno == ENOBUFS) {
				lost++;
				continue;
			}
			if (n < 0)
				break;
			for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
				on_msg(nlh, t);
		}
	}
	if (cmd_done_ms < 0) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
	}
	/* "ready": full, and the command's last transaction (the reload) seen
	 * before it: a full set the reload emptied again would not count. */
	printf("refill_ms=%.2f flush_ms=%.2f full_ms=%.2f cmd_done_ms=%.2f ready_ms=%.2f nft_gens=%u "
	       "lost=%u have4=%ld have6=%ld gens=%s\n", full_ms - first_gen_ms, first_gen_ms,
	       full_ms, cmd_done_ms, ready_ms, cmd_gens, lost, have4, have6, gens);
	mnl_socket_close(nl);
	return ready_ms >= 0 && !lost ? 0 : 1;
}
