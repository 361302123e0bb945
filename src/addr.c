/* kvfence: address parsing, formatting and ordering. */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

static unsigned digit(char c)
{
	return (unsigned)(unsigned char)c - '0';
}

/* Dotted quad as inet_pton(3) takes it: four decimals of 0-255, no
 * leading zero, then the byte end. Anything it refuses goes to
 * inet_pton, which decides. Digit by digit, unrolled: the state file
 * holds an address a line. The end byte, or NULL. */
static const char *quad(const char *s, char end, uint8_t *out)
{
	int i;

	for (i = 0; i < 4; i++) {
		unsigned v = digit(s[0]);

		if (v > 9)
			return NULL;
		if (digit(s[1]) > 9) {
			s += 1;
		} else if (v == 0) {
			return NULL;
		} else if (digit(s[2]) > 9) {
			v = v * 10 + digit(s[1]);
			s += 2;
		} else {
			v = v * 100 + digit(s[1]) * 10 + digit(s[2]);
			if (v > 255)
				return NULL;
			s += 3;
		}
		out[i] = (uint8_t)v;
		if (i == 3)
			break;
		if (*s++ != '.')
			return NULL;
	}
	return *s == end ? s : NULL;
}

/* A hex digit's value plus one; 0: not a hex digit. */
static const uint8_t hex_value[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
	['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14,
	['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15,
	['F'] = 16,
};

/* One group of 1-4 hex digits at s, unrolled as quad is: the byte after
 * it, or NULL. */
static const char *hex_group(const char *s, unsigned *v)
{
	unsigned a = hex_value[(unsigned char)s[0]], b, c, d;

	if (!a)
		return NULL;
	if (!(b = hex_value[(unsigned char)s[1]])) {
		*v = a - 1;
		return s + 1;
	}
	if (!(c = hex_value[(unsigned char)s[2]])) {
		*v = (a - 1) << 4 | (b - 1);
		return s + 2;
	}
	if (!(d = hex_value[(unsigned char)s[3]])) {
		*v = (a - 1) << 8 | (b - 1) << 4 | (c - 1);
		return s + 3;
	}
	if (hex_value[(unsigned char)s[4]])
		return NULL;
	*v = (a - 1) << 12 | (b - 1) << 8 | (c - 1) << 4 | (d - 1);
	return s + 4;
}

/* IPv6 text of hex groups, as inet_pton(3) takes it: eight groups of 1-4
 * digits, or fewer around one "::" standing for at least one group, then
 * the byte end. A dotted IPv4 tail, and anything else this refuses, goes
 * to inet_pton. The end byte, or NULL. */
static const char *groups(const char *s, char end, uint8_t *out)
{
	uint16_t g[8];
	int n = 0, gap = -1, i;

	if (s[0] == ':') {
		if (s[1] != ':')
			return NULL;
		gap = 0;
		s += 2;
	}
	while (*s != end) {
		unsigned v;

		if (n == 8 || !(s = hex_group(s, &v)))
			return NULL;
		g[n++] = (uint16_t)v;
		if (*s == end)
			break;
		if (*s++ != ':')
			return NULL;
		if (*s == ':') {
			if (gap >= 0)
				return NULL;
			gap = n;
			s++;
		} else if (*s == end) {
			return NULL;
		}
	}
	if (gap < 0 ? n != 8 : n > 7)
		return NULL;
	memset(out, 0, 16);
	for (i = 0; i < n; i++) {
		int at = gap < 0 || i < gap ? i : 8 - n + i;

		out[2 * at] = (uint8_t)(g[i] >> 8);
		out[2 * at + 1] = (uint8_t)g[i];
	}
	return s;
}

/* The two forms read by hand, up to the byte end: the end, or NULL. */
static const char *by_hand(const char *text, char end, struct kvf_addr *out)
{
	uint8_t q[16];
	const char *e;

	memset(out, 0, sizeof(*out));
	if ((e = quad(text, end, q))) {
		memcpy(out->bytes, q, 4);
		out->family = AF_INET;
		return e;
	}
	/* Eight groups, or "::": groups takes no text without a colon. */
	if ((e = groups(text, end, q))) {
		memcpy(out->bytes, q, 16);
		out->family = AF_INET6;
		return e;
	}
	return NULL;
}

const char *addr_parse_word(const char *text, struct kvf_addr *out)
{
	return by_hand(text, ' ', out);
}

int addr_parse(const char *text, struct kvf_addr *out)
{
	if (by_hand(text, '\0', out))
		return 0;
	/* A colon is never in IPv4 text: skip that attempt for IPv6. */
	if (!strchr(text, ':') && inet_pton(AF_INET, text, out->bytes) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, out->bytes) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static char *put_dec(char *p, unsigned v)
{
	if (v >= 100)
		*p++ = (char)('0' + v / 100);
	if (v >= 10)
		*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

static char *put_ipv4(char *p, const uint8_t *b)
{
	int i;

	for (i = 0; i < 4; i++) {
		if (i)
			*p++ = '.';
		p = put_dec(p, b[i]);
	}
	return p;
}

static char *put_hex(char *p, unsigned v)
{
	static const char digits[] = "0123456789abcdef";
	int shift = 12;

	while (shift > 0 && !(v >> shift))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		*p++ = digits[(v >> shift) & 0xf];
	return p;
}

/* The text inet_ntop(3) gives (the state file, the logs and status.json
 * have always had it), without its sprintf per group: the state file
 * formats every address it holds, twice per batch that adds one. The
 * longest run of two or more zero groups, the first of equals, is "::";
 * a run over the first five groups and ffff, or the first six, ends in
 * dotted IPv4. */
static char *put_ipv6(char *p, const uint8_t *b)
{
	unsigned w[8];
	int i, base = -1, len = 0, cur = -1;

	for (i = 0; i < 8; i++) {
		w[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
		if (w[i] == 0 && cur < 0)
			cur = i;
		if (cur >= 0 && (w[i] != 0 || i == 7)) {
			int n = (w[i] == 0 ? i + 1 : i) - cur;

			if (n > len) {
				base = cur;
				len = n;
			}
			cur = -1;
		}
	}
	if (len < 2)
		base = -1;
	for (i = 0; i < 8; i++) {
		if (base >= 0 && i >= base && i < base + len) {
			if (i == base)
				*p++ = ':';
			continue;
		}
		if (i)
			*p++ = ':';
		if (i == 6 && base == 0 && (len == 6 || (len == 5 && w[5] == 0xffff)))
			return put_ipv4(p, b + 12);
		p = put_hex(p, w[i]);
	}
	if (base >= 0 && base + len == 8)
		*p++ = ':';
	return p;
}

const char *addr_format(const struct kvf_addr *a, char *buf, size_t len)
{
	char t[KVF_ADDRSTRLEN], *end;

	if (a->family == AF_INET)
		end = put_ipv4(t, a->bytes);
	else if (a->family == AF_INET6)
		end = put_ipv6(t, a->bytes);
	else
		end = t;
	if (end == t || (size_t)(end - t) >= len) {
		snprintf(buf, len, "?");
		return buf;
	}
	memcpy(buf, t, (size_t)(end - t));
	buf[end - t] = '\0';
	return buf;
}

size_t addr_len(const struct kvf_addr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

static uint64_t be64_at(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

/* Sorting 10k hosts' answers calls this a million times: whole words in
 * network order compare as memcmp would, without the call. */
int addr_cmp(const struct kvf_addr *a, const struct kvf_addr *b)
{
	uint32_t x, y;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->family != AF_INET) {
		uint64_t hx = be64_at(a->bytes), hy = be64_at(b->bytes);

		if (hx != hy)
			return cmp_u64(hx, hy);
		return cmp_u64(be64_at(a->bytes + 8), be64_at(b->bytes + 8));
	}
	memcpy(&x, a->bytes, sizeof(x));
	memcpy(&y, b->bytes, sizeof(y));
	return cmp_u64(ntohl(x), ntohl(y));
}
