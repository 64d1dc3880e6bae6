load /work/main/tests/lib/common
load /work/main/tests/lib/dovecot
setup () { common_setup; }
teardown () { dovecot_stop; }
@test "prof" {
  exec 4>/tmp/prof.trace
  BASH_XTRACEFD=4
  PS4='+ $(date +%s.%N | cut -c8-15) '
  set -x
  dovecot_start "$T/dovecot" --no-ssl
  dovecot_user alice secret
  dovecot_add_generated alice 5 9 small
  set +x
}
