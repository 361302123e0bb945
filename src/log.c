/* kvfence: logging, after OpenNTPD's log.c. Messages go to syslog (ident
 * kvfence, facility daemon) or, in the foreground, to stderr. */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "kvfence.h"

static enum log_dest log_dest = LOG_TO_STDERR;
static int log_verbose;

void log_init(enum log_dest dest, int verbose)
{
	log_dest = dest;
	log_verbose = verbose;
	if (dest == LOG_TO_SYSLOG)
		openlog("kvfence", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void log_vmsg(int prio, const char *fmt, va_list ap, int with_errno)
{
	int saved = errno;
	char buf[2048];

	if (prio == LOG_DEBUG && !log_verbose)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (with_errno) {
		size_t l = strlen(buf);

		snprintf(buf + l, sizeof(buf) - l, ": %s", strerror(saved));
	}
	if (log_dest == LOG_TO_SYSLOG)
		syslog(prio, "%s", buf);
	else
		fprintf(stderr, "kvfence: %s\n", buf);
	errno = saved;
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap, 0);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, fmt, ap, 1);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, fmt, ap, 0);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_INFO, fmt, ap, 0);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, fmt, ap, 0);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, fmt, ap, 1);
	va_end(ap);
	exit(KVF_EX_SOFTWARE);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(KVF_EX_SOFTWARE);
}
