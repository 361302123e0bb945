/* kvfence: the systemd notification protocol (sd_notify(3)), spoken
 * directly: one datagram to the socket named by $NOTIFY_SOCKET. The
 * protocol is stable and documented for reimplementation; speaking it
 * here keeps libsystemd and the libraries it pulls in (gcrypt, lzma,
 * zstd, lz4, cap) out of every kvfence process. */
#ifndef KVF_SDNOTIFY_H
#define KVF_SDNOTIFY_H

#include <stdint.h>

/* Send MSG ("READY=1", "STATUS=...", newline-separated assignments).
 * Returns 1 when sent, 0 when $NOTIFY_SOCKET is unset (not run by a
 * Type=notify unit), or a negative errno. */
int sdnotify_send(const char *msg);

/* The watchdog period systemd asks for ($WATCHDOG_USEC, for this
 * process when $WATCHDOG_PID is set), or 0 when there is none. */
uint64_t sdnotify_watchdog_usec(void);

#endif
