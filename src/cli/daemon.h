/*
 * daemon.h - what the two halves of phalanxd's command line share (private to
 * src/cli): the parsed flags, the replay in daemon.c and the live mode in
 * daemon_live.c.
 */
#ifndef PHALANX_CLI_DAEMON_H
#define PHALANX_CLI_DAEMON_H

#include "agent/agent.h"

#define MAX_LABELS 64

struct daemon_flags {
    const char *config;
    const char *dsn, *type, *dump_dir, *alerts_file;
    struct agent_label labels[MAX_LABELS];
    size_t nlabels;
    bool test, version, no_cs, no_api;
};

/* Where our base grok patterns are (source tree, ./config, /etc/phalanx); NULL when nowhere. */
const char *daemon_base_patterns(char *buf, size_t size);

/*
 * phalanxd without -dsn: the Local API (unless -no-api or api.server.enable
 * is false) and the agent (unless -no-cs or crowdsec_service.enable is false)
 * until SIGINT/SIGTERM. Returns the exit code.
 */
int daemon_run_live(const struct daemon_flags *fl);

/*
 * Applies config.yaml's common section: log_media stdout|file|syslog (file:
 * log_dir/phalanxd.log), log_level, and pid_dir (writes pid_dir/phalanxd.pid,
 * its path in pid_path for the caller to remove; "" when none). Prints and
 * returns 1 on a bad value, else 0.
 */
int daemon_common_apply(const char *config, char *pid_path, size_t pid_size);

/*
 * Sends the alerts of a replay (JSON lines in buf) to the Local API named by
 * cfg's api.client.credentials_path through the spool, waiting until they are
 * acknowledged or until a minute has passed (what is left stays in the spool
 * for the next run). Logs and returns 0, or 1 on error.
 */
int daemon_push_alerts(const struct agent_config *cfg, const struct agent *a, const char *config,
                       const char *buf, size_t len);

#endif
