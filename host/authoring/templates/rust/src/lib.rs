use harrier_sdk::{Detector, Event, EventDetail, EventKind, Finding, FindingBuilder, FindingSpec, Metadata, Policy, config, finding};

const SPEC: FindingSpec = FindingSpec {
    finding_type: "Execution:Runtime/{{pascal}}", severity: 5.0, title: "Watched program executed",
    description: "A process ran a program named in the detector's configuration (key programs, default kubectl).", mitre: "T1609",
};

#[derive(serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Own { programs: Vec<String> }
impl Default for Own { fn default() -> Self { Self { programs: vec!["kubectl".into()] } } }

pub struct {{pascal}} { policy: Policy, own: Own }

impl Detector for {{pascal}} {
    fn metadata() -> Metadata {
        finding::metadata("{{name}}", "0.1.0", "Reports a run of a program named in the configuration key programs.", &[EventKind::Exec], &[SPEC])
    }
    fn new(config: &str) -> Result<Self, String> {
        let (policy, own) = config::parse(config)?;
        Ok(Self { policy, own })
    }
    fn on_event(&mut self, event: &Event, out: &mut Vec<Finding>) {
        let EventDetail::Exec(exec) = &event.detail else { return };
        let program = exec.filename.rsplit('/').next().unwrap_or_default();
        if self.own.programs.iter().any(|p| p == program) && self.policy.permits(SPEC.finding_type, &event.process, None) {
            out.push(FindingBuilder::new(&SPEC, event).evidence("filename", &exec.filename).evidence("cmdline", exec.args.join(" ")).build());
        }
    }
    fn self_test() -> Result<(), String> {
        harrier_sdk::testing::self_test::<Self>("{}", include_str!("../fixtures/detect.jsonl"), |_| {}, &[SPEC.finding_type])
    }
}

harrier_sdk::export_detector!({{pascal}});
