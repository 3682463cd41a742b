#!/usr/bin/env bash
# The main job: sets up and builds Haven, starts havend on the embedded SQLite
# store (127.0.0.1, a free port), lets three devices record contacts while
# "offline", make conflicting edits, sync in turn, and prints the merged tally.
# Everything happens in a temporary folder; nothing leaves this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
TARGETS="haven havend" scripts/build.sh >/dev/null

build="$PWD/${BUILD_DIR:-build}"
haven="$build/shells/haven/haven"
havend="$build/server/havend"
work=$(mktemp -d)
server_pid=
cleanup() { [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
# device NAME haven-args...: runs the shell on that device's store, echoing the command.
device() { local name=$1; shift; printf '\033[2m[%s] haven %s\033[0m\n' "$name" "$*" >&2; "$haven" --db "$work/$name.db" "$@"; }

say "Start the server"
"$havend" --db "$work/central.db" --listen 127.0.0.1:0 --dev-no-auth >"$work/havend.out" 2>"$work/havend.log" &
server_pid=$!
for _ in $(seq 50); do [[ -s $work/havend.out ]] && break; sleep 0.1; done
address=$(sed -n 's/^listening on //p' "$work/havend.out")
url="ws://$address/sync"
echo "havend listening on $address (dashboard: http://$address/)"

say "Three devices, offline: two outreach tablets (team pats) and the on-call phone (team crisis)"
device vic init --team pats
device logatec init --team pats
device oncall init --team crisis

say "Outreach: the same person is informed at Vič and later at Logatec; two group sessions"
device vic add pats_session date=2026-03-02 site=vic format=individual person=PK-7Q2M-19 sex=female \
  nationality=UA status=temporary-protection topics=thb,gbv >/dev/null
device logatec add pats_session date=2026-04-14 site=logatec format=individual person=PK-7Q2M-19 sex=female \
  nationality=UA status=temporary-protection topics=thb >/dev/null
device logatec add pats_session date=2026-04-14 site=logatec format=individual person=PK-3K8D-02 sex=male \
  nationality=SY status=international-protection topics=thb >/dev/null
group=$(device vic add pats_session date=2026-03-05 site=vic format=group participants=14 topics=thb)
device logatec add pats_session date=2026-04-15 site=logatec format=group participants=9 topics=gbv >/dev/null

say "On call: the police call at night; a place is prepared and a person admitted"
device oncall add on_call_event date=2026-03-20 caller=police outcome=admitted response_minutes=35 >/dev/null
device oncall add on_call_event date=2026-05-02 caller=ngo outcome=prepared-not-admitted response_minutes=50 >/dev/null
stay=$(device oncall add assistance_case programme=crisis-accommodation person=PK-5T8W-03 sex=female nationality=NG \
  exploitation=sexual,forced-labour offence=art113-thb referred_by=police admitted=2026-03-20 services=accommodation,food)

say "Sync in turn"
device vic sync --server "$url" 2>/dev/null
device logatec sync --server "$url" 2>/dev/null
device vic sync --server "$url" 2>/dev/null
device oncall sync --server "$url" 2>/dev/null

say "Conflicting edits, offline on both tablets: the group at Vič had 16 people, not 14, and covered GBV too"
device vic edit "$group" participants=15
device logatec edit "$group" participants=16 topics+=gbv
device oncall edit "$stay" discharged=2026-03-26 services+=psychological,interpreting

say "Sync again: per-field merge, no conflict screen (the later edit of participants wins; the topics merge)"
for d in vic logatec oncall vic; do device "$d" sync --server "$url" 2>/dev/null; done
device vic show "$group"
echo
device logatec show "$group"

report() {
  printf '\n\033[1m%s\033[0m\n' "$1"
  "$havend" --db "$work/central.db" tally "$2" --year 2026 --format csv | column -s, -t
}
say "The national tally for 2026, kept incrementally by havend"
report "People informed individually, by site (one person at two sites: counted at both, once in the total)" pats-individual-by-site
report "Group sessions, by site" pats-group-by-site
report "Crisis accommodation: care days by nationality" care-days-by-nationality
report "Persons assisted by form of exploitation and sex" assisted-by-exploitation-sex
report "On-call events by outcome and caller" on-call-by-outcome
echo
echo "Also served as JSON and CSV: http://$address/api/tallies"
