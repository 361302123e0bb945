/* Unit tests of the state file: round trip, grace on load, damage. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"
#include "tap.h"

static char dir[] = "/tmp/kvf-test-state-XXXXXX";

static void eps_init(struct endpoint_list *eps, struct endpoint *v)
{
	memset(v, 0, 2 * sizeof(*v));
	v[0].name = "a.example.com";
	v[1].name = "b.example.com";
	eps->v = v;
	eps->n = 2;
}

static void seed(struct host_state *h, const char *addr, int64_t seen)
{
	struct kvf_addr a;

	addr_parse(addr, &a);
	desired_seed(h, &a, seen);
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

int main(void)
{
	struct endpoint v[2];
	struct endpoint_list eps;
	struct host_state hs[2] = { { 0 } }, back[2] = { { 0 } };
	char path[256], err[512], cmd[300];
	struct stat st;

	if (!mkdtemp(dir))
		return 99;
	snprintf(path, sizeof(path), "%s/state", dir);
	eps_init(&eps, v);
	seed(&hs[0], "192.0.2.1", 1000);
	seed(&hs[0], "2001:db8::1", 1900);
	seed(&hs[1], "198.51.100.7", 1950);
	hs[0].ttl = 60;
	hs[0].last_answer = 1900;

	is_int(state_load(path, &eps, back, 2000, 600, err, sizeof(err)), -ENOENT, "no file: ENOENT");
	is_int(state_save(path, &eps, hs), 0, "saved");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode 0600");
	is_int(state_load(path, &eps, back, 2000, 600, err, sizeof(err)), 0, "loaded");
	is_int(back[0].n_addrs, 1, "an address older than grace is dropped on load");
	ok(back[0].n_addrs == 1 && back[0].addrs[0].last_seen == 1900, "last seen kept");
	is_int(back[0].ttl, 60, "ttl kept");
	is_int(back[0].last_answer, 1900, "last answer kept");
	is_int(back[1].n_addrs, 1, "second host");
	ok(!back[1].definite4 && !back[1].addrs[0].current, "loaded addresses wait for an answer");
	host_state_free(&back[0]);
	host_state_free(&back[1]);

	/* A host the config no longer has is ignored. */
	eps.n = 1;
	is_int(state_load(path, &eps, back, 2000, 600, err, sizeof(err)), 0, "fewer hosts: loaded");
	is_int(back[0].n_addrs, 1, "known host seeded");
	host_state_free(&back[0]);
	eps.n = 2;

	write_text(path, "# kvfence state v1\nhost a.example.com ttl 60 answer 5\naddr 192.0.2.999 5\n");
	ok(state_load(path, &eps, back, 10, 600, err, sizeof(err)) == -EINVAL &&
	   strstr(err, "state:3: malformed addr"), "bad address: file:line (%s)", err);
	is_int(back[0].n_addrs, 0, "a damaged file seeds nothing");
	write_text(path, "# kvfence state v1\naddr 192.0.2.1 5\n");
	ok(state_load(path, &eps, back, 10, 600, err, sizeof(err)) == -EINVAL &&
	   strstr(err, ":2: address before"), "address without host (%s)", err);
	write_text(path, "garbage\n");
	ok(state_load(path, &eps, back, 10, 600, err, sizeof(err)) == -EINVAL &&
	   strstr(err, ":1: not a kvfence state"), "not a state file (%s)", err);
	write_text(path, "");
	ok(state_load(path, &eps, back, 10, 600, err, sizeof(err)) == -EINVAL, "empty file");
	write_text(path, "# kvfence state v1\nhost a.example.com ttl x answer 5\n");
	ok(state_load(path, &eps, back, 10, 600, err, sizeof(err)) == -EINVAL &&
	   strstr(err, ":2: malformed host"), "bad ttl (%s)", err);

	host_state_free(&hs[0]);
	host_state_free(&hs[1]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ok(system(cmd) == 0, "clean up");
	return done_testing();
}
