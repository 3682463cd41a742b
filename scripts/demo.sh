#!/usr/bin/env bash
# The main job: sets up and builds Haven, starts havend with TLS (a throwaway
# self-signed certificate) and authentication on (127.0.0.1, a free port),
# enrolls three devices with one-time codes, lets them record contacts while
# "offline", make conflicting edits and sync in turn over wss://, fetches the
# merged tally over https:// with a coordinator token, and retires one device:
# its last sync delivers its last change, then erases its store.
# Everything happens in a temporary folder; nothing leaves this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "building haven and havend (the first time takes a few minutes)..."
TARGETS="haven havend" scripts/build.sh >/dev/null

build="$PWD/${BUILD_DIR:-build}"
haven="$build/bin/haven"
havend="$build/bin/havend"
work=$(mktemp -d)
server_pid=
cleanup() { [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

exec 3>&2  # where the commands are echoed, even when a command's own stderr is dropped
say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
# device NAME haven-args...: runs the shell on that device's store, echoing the command.
device() { local name=$1; shift; printf '\033[2m[%s] haven %s\033[0m\n' "$name" "$*" >&3; "$haven" --db "$work/$name.db" "$@"; }
# central havend-args...: the coordinator's commands on the server's store, echoed the same way.
central() { printf '\033[2m[server] havend %s\033[0m\n' "$*" >&3; "$havend" --db "$work/central.db" "$@"; }
# json_text KEY: the string value of KEY in the one-line JSON object on stdin.
json_text() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }

say "Start the server: TLS with a self-signed certificate for 127.0.0.1, authentication on"
"$havend" dev-cert --cert "$work/cert.pem" --key "$work/key.pem"
"$havend" --db "$work/central.db" --listen 127.0.0.1:0 --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" \
  >"$work/havend.out" 2>"$work/havend.log" 3>&- &
server_pid=$!
for _ in $(seq 50); do [[ -s $work/havend.out ]] && break; sleep 0.1; done
address=$(sed -n 's/^listening on //p' "$work/havend.out")
[[ -n $address ]] || { echo "havend did not start:" >&2; cat "$work/havend.log" >&2; exit 1; }
echo "havend listening on $address: devices sync on wss://$address/sync, the coordinator reads https://$address/"

say "Enroll three devices: two outreach tablets (team pats) and the on-call phone (team crisis)"
echo "Each gets a one-time code from the server and trades it, with the public half of a key pair it"
echo "makes itself, for a device id and its team's pseudonym key; it pins the server's certificate (--ca)."
enroll() {  # enroll DEVICE TEAM
  local code
  code=$(central enroll --name "$1" --team "$2" --expires 10m --json | json_text code)
  device "$1" enroll --server "wss://$address" --code "$code" --ca "$work/cert.pem"
}
enroll vic pats
enroll logatec pats
enroll oncall crisis

say "Outreach: the same person is informed at Vič and later at Logatec; two group sessions"
echo "Each tablet derives her person code from what she tells them, on stdin and never stored"
echo "(Olena / Kovalenko / 1990-04-12 / UA at Vič, OLENA / kovalenko / 1990-04-12 / ua at Logatec):"
echo "the team's key makes it the same code on both, however it is typed."
olena=$(printf 'Olena\nKovalenko\n1990-04-12\nUA\n' | device vic person-code)
echo "$olena"
printf 'OLENA\nkovalenko \n1990-04-12\nua\n' | device logatec person-code
device vic add pats_session date=2026-03-02 site=vic format=individual person="$olena" sex=female \
  nationality=UA status=temporary-protection topics=thb,gbv >/dev/null
device logatec add pats_session date=2026-04-14 site=logatec format=individual person="$olena" sex=female \
  nationality=UA status=temporary-protection topics=thb >/dev/null
device logatec add pats_session date=2026-04-14 site=logatec format=individual person=K-5948-V3N6-F21X sex=male \
  nationality=SY status=international-protection topics=thb >/dev/null
group=$(device vic add --quiet pats_session date=2026-03-05 site=vic format=group participants=14 topics=thb)
device logatec add pats_session date=2026-04-15 site=logatec format=group participants=9 topics=gbv >/dev/null

say "On call: the police call at night; a place is prepared and a person admitted"
device oncall add on_call_event date=2026-03-20 caller=police outcome=admitted response_minutes=35 >/dev/null
device oncall add on_call_event date=2026-05-02 caller=ngo outcome=prepared-not-admitted response_minutes=50 >/dev/null
stay=$(device oncall add --quiet assistance_case programme=crisis-accommodation person=K-972Q-WFVB-3HHN sex=female nationality=NG \
  exploitation=sexual,forced-labour offence=art113-thb referred_by=police admitted=2026-03-20 services=accommodation,food)

say "Sync in turn, over wss:// with the enrolled server and pinned certificate (each sync is signed by the device)"
for d in vic logatec vic oncall; do device "$d" sync 2>/dev/null; done

say "Conflicting edits, offline on both tablets: the group at Vič had 16 people, not 14, and covered GBV too"
device vic edit "$group" participants=15
device logatec edit "$group" participants=16 topics+=gbv
device oncall edit "$stay" discharged=2026-03-26 services+=psychological,interpreting

say "Sync again: per-field merge, no conflict screen (the later edit of participants wins; the topics merge)"
for d in vic logatec oncall vic; do device "$d" sync 2>/dev/null; done
device vic show "$group"
echo
device logatec show "$group"

say "The coordinator reads the national tally for 2026 over https://, with a bearer token"
token=$(central token --name coordinator | sed -n 's/^ *Authorization: Bearer //p')
echo "token: ${token:0:8}… (shown once by havend token; the dashboard asks for it too)"
report() {  # report TITLE TALLY-ID
  printf '\n\033[1m%s\033[0m\n' "$1"
  printf '\033[2m[coordinator] curl --cacert cert.pem -H "Authorization: Bearer …" %s\033[0m\n' \
    "https://$address/api/tallies/$2.csv?year=2026" >&3
  curl -sS --fail --cacert "$work/cert.pem" -H "Authorization: Bearer $token" \
    "https://$address/api/tallies/$2.csv?year=2026" | column -s, -t
}
report "People informed individually, by site (one person at two sites: counted at both, once in the total)" pats-individual-by-site
report "Group sessions, by site" pats-group-by-site
report "Crisis accommodation: care days by nationality" care-days-by-nationality
report "Persons assisted by form of exploitation and sex" assisted-by-exploitation-sex
report "On-call events by outcome and caller" on-call-by-outcome
echo
echo "Without the token the server answers 401:" \
  "$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$work/cert.pem" "https://$address/api/tallies")"

say "The Logatec tablet is handed back. It records one last group session offline; the coordinator retires it"
device logatec add pats_session date=2026-06-01 site=logatec format=group participants=11 topics=thb >/dev/null
logatec_id=$(device logatec status --json | json_text device_id)
central retire "$logatec_id"

say "Its next sync pushes the last session, then the server orders the store erased"
device logatec sync 2>/dev/null
device logatec status
report "Group sessions, by site (Logatec's last session arrived)" pats-group-by-site
echo
central devices
