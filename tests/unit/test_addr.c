/* Unit tests of address formatting: kvfence's own formatter must give
 * exactly what inet_ntop(3) gives, for every shape of zero run. */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include "addr.h"
#include "tap.h"

/* 0 if addr_format and inet_ntop agree on a; else 1 (the first such
 * address is reported). */
static int differs(const struct kvf_addr *a, int *reported)
{
	char got[KVF_ADDRSTRLEN], want[INET6_ADDRSTRLEN];

	addr_format(a, got, sizeof(got));
	inet_ntop(a->family, a->bytes, want, sizeof(want));
	if (strcmp(got, want) == 0)
		return 0;
	if (!(*reported)++)
		printf("# addr_format gave %s, inet_ntop %s\n", got, want);
	return 1;
}

static void ipv4_is_formatted_as_inet_ntop_does(void)
{
	static const uint8_t edge[] = { 0, 1, 9, 10, 99, 100, 199, 200, 255 };
	struct kvf_addr a = { .family = AF_INET };
	int bad = 0, reported = 0, i, j;

	for (i = 0; i < 9; i++)
		for (j = 0; j < 9; j++) {
			a.bytes[0] = edge[i];
			a.bytes[1] = edge[j];
			a.bytes[2] = edge[(i + j) % 9];
			a.bytes[3] = edge[(i * j) % 9];
			bad += differs(&a, &reported);
		}
	for (i = 0; i < 10000; i++) {
		uint32_t v = tap_random();

		memcpy(a.bytes, &v, 4);
		bad += differs(&a, &reported);
	}
	is_int(bad, 0, "IPv4: edge digits and 10,000 random addresses as inet_ntop gives them");
}

/* Every pattern of zero and non-zero groups (256), each with group
 * values that matter: 1, ffff (mapped IPv4), small and full hex. */
static void ipv6_every_zero_run_shape_as_inet_ntop_does(void)
{
	static const unsigned vals[] = { 1, 0xffff, 0xa, 0xab, 0xabc, 0x1234, 0x100 };
	struct kvf_addr a = { .family = AF_INET6 };
	int bad = 0, reported = 0, pat, k, g;

	for (pat = 0; pat < 256; pat++)
		for (k = 0; k < 7 * 7; k++) {
			for (g = 0; g < 8; g++) {
				unsigned v = pat >> g & 1 ? vals[(k + g * (k / 7 + 1)) % 7] : 0;

				a.bytes[2 * g] = (uint8_t)(v >> 8);
				a.bytes[2 * g + 1] = (uint8_t)v;
			}
			bad += differs(&a, &reported);
		}
	is_int(bad, 0, "IPv6: 256 zero-group patterns x 49 value mixes as inet_ntop gives them");
}

static void ipv6_random_and_special_addresses_as_inet_ntop_does(void)
{
	static const char *const special[] = {
		"::", "::1", "::2", "::ffff:0.0.0.0", "::ffff:192.0.2.1", "::192.0.2.1",
		"::ffff:0:192.0.2.1", "64:ff9b::192.0.2.1", "2001:db8::", "2001:db8::1",
		"fe80::1", "ff02::1:ff00:1", "1::", "1:0:0:1::", "1::1:0:0:1",
		"2001:db8:0:0:1:0:0:1", "0:0:1::", "::1:0:0:0", "2001:db8:1:2:3:4:5:6",
	};
	struct kvf_addr a;
	int bad = 0, reported = 0, i, j;

	for (i = 0; i < (int)(sizeof(special) / sizeof(*special)); i++) {
		addr_parse(special[i], &a);
		bad += differs(&a, &reported);
	}
	a.family = AF_INET6;
	for (i = 0; i < 20000; i++) {
		for (j = 0; j < 16; j += 4) {
			uint32_t v = tap_random();

			/* Zero groups half the time: runs of every length. */
			if (tap_random() % 2)
				v &= tap_random() % 2 ? 0xffff0000u : 0x0000ffffu;
			if (tap_random() % 3 == 0)
				v = 0;
			memcpy(a.bytes + j, &v, 4);
		}
		bad += differs(&a, &reported);
	}
	is_int(bad, 0, "IPv6: special and 20,000 random addresses as inet_ntop gives them");
}

static void a_short_buffer_or_no_family_gives_a_question_mark(void)
{
	struct kvf_addr a;
	char small[8];

	addr_parse("2001:db8::1", &a);
	is_str(addr_format(&a, small, sizeof(small)), "?", "a buffer too short: ?");
	addr_parse("192.0.2.1", &a);
	is_str(addr_format(&a, small, 9), "?", "no room for the NUL: ?");
	a.family = 0;
	is_str(addr_format(&a, small, sizeof(small)), "?", "no family: ?");
}

/* 0 if addr_parse gives text the verdict and bytes inet_pton gives it
 * in family; else 1 (the first such text is reported). */
static int parse_differs(int family, const char *s, int *reported)
{
	uint8_t want[16];
	struct kvf_addr got;
	size_t len = family == AF_INET ? 4 : 16;
	int ok_want = inet_pton(family, s, want) == 1;
	int ok_got = addr_parse(s, &got) == 0 && got.family == family;

	if (ok_want == ok_got && (!ok_want || memcmp(got.bytes, want, len) == 0))
		return 0;
	if (!(*reported)++)
		printf("# \"%s\": inet_pton %d, addr_parse %d\n", s, ok_want, ok_got);
	return 1;
}

/* 0 if addr_parse_word, given text's first word and a space, takes it
 * exactly when addr_parse takes that word in the forms read by hand
 * (all but IPv6 with a dotted tail), ending at the space, with the same
 * result; else 1. */
static int word_differs(const char *text, int *reported)
{
	struct kvf_addr want, got;
	char s[64], line[96];
	const char *end;
	bool ok_want;

	snprintf(s, sizeof(s), "%.*s", (int)strcspn(text, " "), text);
	ok_want = addr_parse(s, &want) == 0 && (want.family == AF_INET || !strchr(s, '.'));
	snprintf(line, sizeof(line), "%s 1764400000 current", s);
	memset(&got, 0xa5, sizeof(got));
	end = addr_parse_word(line, &got);
	if (ok_want ? end == line + strlen(s) && memcmp(&got, &want, sizeof(got)) == 0 :
		      end == NULL)
		return 0;
	if (!(*reported)++)
		printf("# \"%s\": addr_parse %d, addr_parse_word %s\n", s, ok_want,
		       end ? "took it" : "refused it");
	return 1;
}

/* addr_parse takes a dotted quad exactly when inet_pton does, with the
 * same bytes: random strings of digits and dots, and the edges. */
static void ipv4_text_is_taken_exactly_as_inet_pton_takes_it(void)
{
	static const char *const edge[] = {
		"0.0.0.0", "255.255.255.255", "256.0.0.1", "1.2.3.04", "01.2.3.4",
		"1.2.3", "1.2.3.4.", ".1.2.3.4", "1..2.3", "1.2.3.4.5", "1.2.3.999",
		"1.2.3.2555", "", "1.2.3.4 ", "1.2.3.-4", "0.0.0.00", "192.0.2.1", "1.2.3.4\t5",
	};
	char s[24];
	int bad = 0, reported = 0, bad_word = 0, reported_word = 0, i, j, len;

	for (i = 0; i < (int)(sizeof(edge) / sizeof(edge[0])) + 300000; i++) {
		if (i < (int)(sizeof(edge) / sizeof(edge[0]))) {
			snprintf(s, sizeof(s), "%s", edge[i]);
		} else {
			len = 1 + (int)(tap_random() % 16);
			for (j = 0; j < len; j++)
				s[j] = tap_random() % 4 == 0 ? '.' : (char)('0' + tap_random() % (tap_random() % 2 ? 3 : 10));
			s[len] = '\0';
		}
		bad += parse_differs(AF_INET, s, &reported);
		bad_word += word_differs(s, &reported_word);
	}
	is_int(bad, 0, "addr_parse and inet_pton agree on 300k strings of digits and dots");
	is_int(bad_word, 0, "addr_parse_word takes each before a space as addr_parse takes it");
}

/* And IPv6 text: the same verdict and bytes as inet_pton, for random
 * strings of hex digits, colons and dots, and for real addresses in
 * inet_ntop's form and written out in full. */
static void ipv6_text_is_taken_exactly_as_inet_pton_takes_it(void)
{
	static const char *const edge[] = {
		"::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
		"1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7", "1::2::3",
		":1::", "1:", ":", ":::", "1:::2", "12345::", "0000:0000::", "ABCD:ef01::",
		"::ffff:192.0.2.1", "2001:db8::192.0.2.1", "1:2:3:4:5:6:7:8:9", "g::", "",
		"2001:db8::1\t1",
	};
	static const char alphabet[] = "0123456789abcdefABCDEF:::::.";
	char s[64];
	int bad = 0, reported = 0, bad_word = 0, reported_word = 0, i, j, len;

	for (i = 0; i < (int)(sizeof(edge) / sizeof(edge[0])) + 600000; i++) {
		uint8_t raw[16];

		if (i < (int)(sizeof(edge) / sizeof(edge[0]))) {
			snprintf(s, sizeof(s), "%s", edge[i]);
		} else if (i % 3 == 0) {
			for (j = 0; j < 16; j++)	/* zero runs of every length */
				raw[j] = tap_random() % 3 ? 0 : (uint8_t)tap_random();
			if (i % 2)
				inet_ntop(AF_INET6, raw, s, sizeof(s));
			else
				snprintf(s, sizeof(s), "%x:%x:%x:%x:%x:%x:%x:%x",
					 raw[0] << 8 | raw[1], raw[2] << 8 | raw[3], raw[4] << 8 | raw[5],
					 raw[6] << 8 | raw[7], raw[8] << 8 | raw[9], raw[10] << 8 | raw[11],
					 raw[12] << 8 | raw[13], raw[14] << 8 | raw[15]);
		} else {
			len = 1 + (int)(tap_random() % 40);
			for (j = 0; j < len; j++)
				s[j] = alphabet[tap_random() % (sizeof(alphabet) - 1)];
			s[len] = '\0';
		}
		bad += parse_differs(AF_INET6, s, &reported);
		bad_word += word_differs(s, &reported_word);
	}
	is_int(bad, 0, "addr_parse and inet_pton agree on 600k IPv6 strings");
	is_int(bad_word, 0, "addr_parse_word takes each before a space as addr_parse takes it");
}

int main(void)
{
	ipv4_is_formatted_as_inet_ntop_does();
	ipv6_every_zero_run_shape_as_inet_ntop_does();
	ipv6_random_and_special_addresses_as_inet_ntop_does();
	a_short_buffer_or_no_family_gives_a_question_mark();
	ipv4_text_is_taken_exactly_as_inet_pton_takes_it();
	ipv6_text_is_taken_exactly_as_inet_pton_takes_it();
	return done_testing();
}
