use harrier_sdk::testing::Harness;
use {{snake}}::{{pascal}};

#[test]
fn reports_the_watched_program_with_its_command_line() {
    let found = Harness::<{{pascal}}>::new("{}").unwrap().run_fixture("fixtures/detect.jsonl").unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let evidence: Vec<(&str, &str)> = found[0].evidence.iter().map(|e| (e.key.as_str(), e.value.as_str())).collect();
    assert_eq!(evidence, [("exe", "/usr/local/bin/kubectl"), ("comm", "kubectl"), ("filename", "/usr/local/bin/kubectl"), ("cmdline", "kubectl exec -it web-0 -- sh")]);
}

#[test]
fn programs_replaces_the_default_and_unknown_keys_are_refused() {
    let found = Harness::<{{pascal}}>::new(r#"{"programs":["ls"]}"#).unwrap().run_fixture("fixtures/detect.jsonl").unwrap();
    assert_eq!(found[0].evidence[0].value, "/usr/bin/ls");
    let refused = Harness::<{{pascal}}>::new(r#"{"program":["ls"]}"#).err().unwrap();
    assert!(refused.contains("program"), "{refused}");
}

#[test]
fn self_test_passes() {
    <{{pascal}} as harrier_sdk::Detector>::self_test().unwrap();
}
