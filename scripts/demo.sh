#!/usr/bin/env bash
# make demo: a township day from the account (高兴镇), through the `sanlian` CLI against a township
# started for it with `sanlian up -d` in a directory of its own. Each step says what it does,
# shows the commands and what they answered, and checks it; the demo exits 0 only if every step
# did what it says, and stops the township whatever happens.
#
# usage: scripts/demo.sh BIN_DIR [DIR]
set -uo pipefail
bin=$1
dir=${2:-$(mktemp -d /tmp/sanlian-demo.XXXXXX)}
repo="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$dir"
# The default township, with check-ins on the demo's night shift due every 20 s (5 s of grace)
# rather than every hour, so that a missed one shows within the demo.
sed -e 's/^    grace: 10m$/    grace: 5s/' -e 's/^    templates: {}$/    templates: {night-v3: 20s}/' \
    "$repo/compose/township.yaml" >"$dir/township.yaml"
export SANLIAN_DIR="$dir/var" SANLIAN_COMPOSE="$dir/township.yaml" LANG=C.UTF-8
sanlian() { "$bin/sanlian" "$@"; }

steps=0
failed=0
out=""
step() {
    steps=$((steps + 1))
    printf '\n\033[1m[%d] %s\033[0m\n' "$steps" "$1"
}
# run CMD...: shows and runs a sanlian command; its output is kept in $out. Fails the demo when
# the command fails.
run() {
    printf '$ sanlian %s\n' "$*"
    if ! out=$(sanlian "$@" 2>&1); then
        printf '%s\n' "$out"
        fail "sanlian $1 $2 exited with an error"
        return 1
    fi
    printf '%s\n' "$out" | sed 's/^/  /'
}
fail() {
    printf '\033[31mFAILED: %s\033[0m\n' "$1"
    failed=$((failed + 1))
}
# expect TEXT WHAT: the last command's output contains TEXT.
expect() {
    if [[ $out == *"$1"* ]]; then printf '  \033[32mok\033[0m %s\n' "$2"; else fail "$2 (no \"$1\" in the output)"; fi
}
# json FIELD: a top-level field of the last command's JSON output.
json() { printf '%s' "$out" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
# The township's day and time (+08:00).
today=$(date -u -d '+8 hours' +%F)
now_hm=$(date -u -d '+8 hours' +%H:%M)
later_hm=$(date -u -d '+11 hours' +%H:%M)
month=${today:0:7}
id_with_check_digit() {
    python3 -c "
import sys
s='$1'; w=[7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2]
print(s + '10X98765432'[sum(int(c)*x for c,x in zip(s,w)) % 11])"
}
stop() {
    printf '\n'
    sanlian down >/dev/null 2>&1 || true
}
trap stop EXIT

step "The township starts: the broker, then every department's service and the command room's"
run up -d -f "$dir/township.yaml" --dir "$dir/var" --bin-dir "$bin" || exit 1
expect "ready: 5 processes" "five processes up and healthy"
run status
expect "sanlian-station" "the command room's service registered"

step "联防: comprehensive governance registers its volunteers and has the week's roster generated"
cat >"$dir/volunteers.csv" <<CSV
id,name,phone,kind,skills,village_code
v01,王大山,13812345601,veteran,first_aid,511681104203
v02,李小军,13812345602,veteran,,511681104203
v03,赵治安,13812345603,activist,,511681104203
v04,钱红,13812345604,activist,first_aid,511681104203
CSV
run patrol area add v3 --name 三组 --kind village --village 511681104203 --department governance
run patrol volunteer import "$dir/volunteers.csv" --department governance
expect "4" "four volunteers imported"
run patrol shift add day-v3 --area v3 --name day --start 08:00 --end 16:00 --people 1 --department governance
run patrol roster generate --from "$today" --to "$(date -u -d '+8 hours +6 days' +%F)" --department governance
expect "hard-rule violations: 0" "a roster that keeps every hard rule"

step "A night patrol (its times moved to now for the demo) whose volunteer then misses a check-in"
run patrol shift add night-v3 --area v3 --name night --start "$now_hm" --end "$later_hm" --people 2 --night \
    --department governance
run patrol assignment add --shift night-v3 --day "$today" --volunteer v01 --department governance --json
night=$(json id)
run patrol assignment add --shift night-v3 --day "$today" --volunteer v03 --department governance
run patrol checkin "$night" --village 511681104203 --place 葡萄园 --department governance
printf '  (waiting for the next check-in, due within 25 s)\n'
missed=""
for _ in $(seq 60); do
    if sanlian alert list 2>/dev/null | grep -q "patrol-missed:$night"; then missed=yes; break; fi
    sleep 1
done
run alert list
if [[ -n $missed ]]; then printf '  \033[32mok\033[0m the missed check-in raised an alert the command room sees\n'; else fail "no missed check-in alert within 60 s"; fi

step "The patrol finds the vineyard's fence broken: an alert, and a hazard for joint control"
run patrol finding report "$night" --kind broken_facility --description "三组葡萄园围栏被毁" \
    --village 511681104203 --place 葡萄园 --hazard --department governance
expect "hazard" "reported to the hazards service as well"

step "联控: the traffic office reports a rockfall on G318; the command room dispatches the rural traffic team"
run hazards report --kind traffic --village 511681104201 --place "G318 K1203" \
    --description "G318 K1203 山体落石占用半幅路面" --department traffic --operator traffic-01 --json
hazard=$(json id)
run tasks dispatch --hazard "$hazard" --team rural_traffic --within 2h --title "清理 G318 K1203 落石" \
    --operator duty-0421 --json
task=$(json id)
run tasks ack "$task" --department traffic --operator traffic-01 --note 收到
run tasks progress "$task" --department traffic --operator traffic-01 --note "已到场，设置警示"
run tasks complete "$task" --department traffic --operator traffic-01 --note "落石已清理"
expect "on time" "the rural traffic team completed it on time"
run hazards ack "$hazard" --department traffic --operator traffic-01

step "四分: the vineyard dispute, accepted, graded, routed, mediated and closed"
run disputes intake --category public_order --village 511681104203 --place 葡萄园 \
    --party "葡萄园业主,role=complainant" --party "学生家长,role=guardian" \
    --complaint "葡萄被盗、围栏被毁，涉及未成年人" --operator duty-0421 --json
vineyard=$(json id)
run disputes assess "$vineyard" --grade simple --reason "财物损失小，双方愿意调解" --operator duty-0421
run disputes route "$vineyard" --channel police_administrative --reason "涉未成年人，公安行政调解" --operator duty-0421
run disputes session "$vineyard" --mediator 王警官 --summary "双方面谈，家长道歉" --operator duty-0421
run disputes outcome "$vineyard" resolved --agreement "赔偿损失并道歉" --operator duty-0421
run disputes close "$vineyard" --operator duty-0421
expect "closed" "the dispute closed"

step "A wage dispute against an enterprise: its workers listed from the residents' records"
worker1=$(id_with_check_digit 51168119900101001)
worker2=$(id_with_check_digit 51168119920202002)
run residents person add --id "$worker1" --name 赵工 --phone 13900000001 --floating --enterprise E001 --operator clerk-01
run residents person add --id "$worker2" --name 孙工 --phone 13900000002 --floating --enterprise E001 --operator clerk-01
run disputes intake --category labour_wages --village 511681104203 --place 葡萄园 \
    --party "赵工,role=complainant" --party "葡萄园,role=respondent,enterprise=E001" \
    --complaint "拖欠工资三个月" --operator traffic-01 --department traffic --json
wages=$(json id)
run disputes workers "$wages" --operator traffic-01 --department traffic
expect "赵工" "the enterprise's workers listed (masked for the traffic office)"

step "联管: a household transfer for a migrant worker's daughter, with its checklist"
daughter=$(id_with_check_digit 51168120150606006)
run residents person add --id "$daughter" --name 赵小花 --floating --village 511681104203 --operator clerk-01
run residents transfer request --kind move_in --id "$daughter" --to "高兴镇三组 8 号" --operator clerk-01 --json
transfer=$(json id)
run residents transfer checklist --kind move_in --operator clerk-01
run residents transfer documents "$transfer" --received 户口迁移证 --received 居民身份证 --received 准予迁入证明 \
    --operator clerk-01
run residents transfer approve "$transfer" --operator leader-01
run residents transfer complete "$transfer" --operator clerk-01
expect "done" "the transfer done"

step "Window services at the registration office, and the month's completion rates"
run residents window record --business id_card --received "$today 09:00" --finished "$today 09:20" --operator clerk-01
run residents window record --business household_transfer --received "$today 10:00" --finished "$today 15:30" \
    --operator clerk-01
run residents window rates --month "$month" --operator clerk-01

step "The command room's day: the daily summary"
run report daily --operator duty-0421
expect "tasks dispatched" "the day summed up"
run tasks --all

printf '\n'
if ((failed > 0)); then
    printf '\033[31mdemo: %d of %d steps had a failure\033[0m (logs: sanlian logs --dir %s/var)\n' "$failed" "$steps" "$dir"
    exit 1
fi
printf '\033[32mdemo: all %d steps did what they say\033[0m\n' "$steps"
