#!/usr/bin/env bash
# The main job: sets up, builds, then records anonymised contacts offline in a
# fresh device store and lists them. Nothing leaves the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh -DHAVEN_BUILD_TESTS=OFF >/dev/null

haven="$PWD/${BUILD_DIR:-build}/shells/haven/haven"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/outreach-tablet.db"
step() { printf '\n\033[1m$ haven %s\033[0m\n' "$*" >&2; "$haven" --db "$db" "$@"; }

step init --team pats-vic
session=$(step add pats_session date=2026-03-02 site=vic format=individual person=PK-7Q2M-19 \
  sex=female age_band=adult nationality=UA status=temporary-protection topics=thb,gbv referral=none | tail -1)
step add pats_session date=2026-03-02 site=vic format=group participants=14 topics=thb,sexual-violence
step add on_call_event date=2026-03-04 caller=police outcome=admitted response_minutes=40
stay=$(step add assistance_case programme=crisis-accommodation person=PK-5T8W-03 sex=female \
  nationality=NG exploitation=sexual offence=art113-thb referred_by=police admitted=2026-03-04 \
  services=accommodation,food,psychological | tail -1)
step add prevention_workshop date=2026-03-10 audience=secondary-school region=gorenjska participants=26 teachers=2

echo; echo "# A mistake is refused with the field and the reason, and nothing is written:"
step add pats_session date=2026-03-02 site=vic format=individual participants=3 || true

echo; echo "# The person left the crisis accommodation on 9 March; an interpreter was arranged:"
step edit "$stay" discharged=2026-03-09 services+=interpreting
step show "$stay"

echo; echo "# A session recorded twice by mistake is deleted; its data is erased:"
step delete "$session"
step list
step status
