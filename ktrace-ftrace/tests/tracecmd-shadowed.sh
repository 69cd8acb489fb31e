#!/bin/sh
# Runs `trace-cmd "$@"` in a private mount namespace with the tracefs files this lockdown kernel
# refuses (set_ftrace_filter/notrace/pid, /proc/sys/kernel/ftrace_enabled) shadowed by plain files,
# so stock trace-cmd can record events. On a kernel without lockdown the shadows are harmless.
exec unshare -m sh -c '
mount --make-rprivate /
T=/sys/kernel/tracing
[ -d $T/events ] || T=/sys/kernel/debug/tracing
D=$(mktemp -d /tmp/ktrace_shadow.XXXXXX)
for f in set_ftrace_filter set_ftrace_notrace set_ftrace_pid; do
  [ -e $T/$f ] && : > $D/$f && mount --bind $D/$f $T/$f
done
if [ -e /proc/sys/kernel/ftrace_enabled ]; then
  echo 1 > $D/ftrace_enabled && mount --bind $D/ftrace_enabled /proc/sys/kernel/ftrace_enabled
fi
trace-cmd "$@"
rc=$?
rm -rf $D
exit $rc
' trace-cmd-shadowed "$@"
