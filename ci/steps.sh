# Timed step headers shared by ci/test_wheel.sh and ci/sanitize.sh (sourced, not run).
# `step NAME "description"` closes the previous step and opens the next; `finish_step` closes
# the last one. STEP_NAMES / STEP_TIMES hold the names and durations (seconds) for a summary.

T_START=$(date +%s)
STEP_NAMES=()
STEP_TIMES=()
CURRENT=""
CURRENT_T0=0

step() {  # step NAME "description": close the previous step, open the next one
    finish_step
    CURRENT=$1
    CURRENT_T0=$(date +%s)
    printf '\n==== [%s] %s ====\n' "$1" "$2"
}

finish_step() {
    if [[ -n "$CURRENT" ]]; then
        STEP_NAMES+=("$CURRENT")
        STEP_TIMES+=("$(( $(date +%s) - CURRENT_T0 ))")
        CURRENT=""
    fi
}
