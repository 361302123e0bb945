/* kvfence: an IP address as it travels from DNS answer to set element. */
#ifndef KVF_ADDR_H
#define KVF_ADDR_H

#include <stdint.h>
#include <stdbool.h>
#include <sys/socket.h>

struct kvf_addr {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t bytes[16];	/* network order; IPv4 uses the first 4 */
};

#define KVF_ADDRSTRLEN 46

/* 0 on success, -EINVAL if text is not an address. */
int addr_parse(const char *text, struct kvf_addr *out);
/* The address at the start of text, ended by a space: a pointer to
 * that space, with out as addr_parse fills it for the text before it.
 * Only a dotted quad, or IPv6 in hex groups (no dotted IPv4 tail); NULL
 * for anything else, which addr_parse may still take. For reading a
 * line without splitting it into words first. */
const char *addr_parse_word(const char *text, struct kvf_addr *out);
const char *addr_format(const struct kvf_addr *a, char *buf, size_t len);
int addr_cmp(const struct kvf_addr *a, const struct kvf_addr *b);
size_t addr_len(const struct kvf_addr *a);

#endif
