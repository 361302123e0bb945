/* kvfence: logging to syslog (ident kvfence, facility daemon) or stderr.
 * Modelled on OpenNTPD's log.c: log_warn appends strerror(errno),
 * log_warnx does not. errno is preserved. */
#ifndef KVF_LOG_H
#define KVF_LOG_H

#include <stdbool.h>
#include <syslog.h>

enum log_dest {
	LOG_TO_STDERR,
	LOG_TO_SYSLOG,
};

void log_init(enum log_dest dest, int verbose);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
