/* libFuzzer target: config_parse_buffer() on arbitrary bytes. Every input
 * must parse or fail with a "file:line: reason" message; a parsed config
 * is freed (LeakSanitizer checks every error path frees what it took).
 *
 * include: the buffer's name lies in a private directory holding a valid
 * fragment, a self-including file and a world-writable file, so relative
 * includes reach the file-reading code deterministically. Inputs that could
 * include anything outside it (a '/' anywhere in an input that says
 * "include") are skipped: a fuzzer must not read the host's files. */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvfence.h"
#include "config.h"

static char fuzz_name[256];

static void write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static char dir_template[] = "/tmp/kvfence-fuzz-config.XXXXXX";

static void remove_dir(void)
{
	static const char *const names[] = { "good.conf", "loop.conf", "open.conf", "fuzz.conf" };
	char path[512];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir_template, names[i]);
		unlink(path);
	}
	rmdir(dir_template);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (!mkdtemp(dir_template))
		abort();
	atexit(remove_dir);
	write_file(dir_template, "good.conf", "vault fuzzvault\nhost a.example.com 443\n", 0644);
	write_file(dir_template, "loop.conf", "include loop.conf\n", 0644);
	write_file(dir_template, "open.conf", "vault openvault\n", 0666);
	snprintf(fuzz_name, sizeof(fuzz_name), "%s/fuzz.conf", dir_template);
	return 0;
}

static int reaches_outside(const uint8_t *data, size_t size)
{
	static const char word[] = "include";

	return memmem(data, size, word, sizeof(word) - 1) && memchr(data, '/', size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[KVF_ERRLEN];

	if (reaches_outside(data, size))
		return -1;	/* not added to the corpus */
	err[0] = '\0';
	if (config_parse_buffer(fuzz_name, (const char *)data, size, &cfg, err, sizeof(err)) == 0) {
		/* What the rest of kvfence relies on. */
		if (!cfg.table || (!cfg.set4 && !cfg.set6) || cfg.refresh_min > cfg.refresh_max ||
		    cfg.max_addresses < 1 || cfg.max_addresses > 4096)
			abort();
		config_free(&cfg);
	} else if (err[0] == '\0' || !strchr(err, ':')) {
		abort();	/* an error the administrator cannot place */
	}
	return 0;
}
