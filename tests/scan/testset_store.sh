# Sourced by tests/scan/check_file.sh and bench/file.sh: testset_issue_all STORE makes a store
# that issued the scan test set's 31 documents (tests/scan/make_scans.sh: the same patients,
# so the same ids as the scans' QR codes), their PDFs in STORE.pdf/. Needs $bin (consentform),
# $probe (scan_probe) and $forms (the forms folder).
testset_issue_all() { # STORE
    "$bin" archive init "$1" 2>/dev/null || return 1
    mkdir -p "$1.pdf"
    local i form args
    for i in $(seq 1 31); do
        args=("patient_name=CHAN Tai Man $i" "hospital_no=HN$((20000000 + i))(1)")
        if ((i % 3 == 0)); then
            form=dpn-injection-consent
            args+=("birth_date=1950-03-04" "doctor_name=LEE Ka Wai" "procedure_date=2026-01-20")
        else
            form=nerve-root-injection
            args+=("episode_no=HE$((3000000 + i))")
        fi
        "$probe" issue "$1" "$1.pdf/doc$i.pdf" "$forms/$form.xml" "${args[@]}" >/dev/null || return 1
    done
}
