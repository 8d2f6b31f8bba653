"""{{name}}: a Harrier detector that reports a run of a program named in its configuration."""

from harrier_sdk import Detector, FindingBuilder, FindingSpec, basename, export, include_text

SPEC = FindingSpec(
    finding_type="Execution:Runtime/{{pascal}}",
    severity=5.0,
    title="Watched program executed",
    description="A process ran a program named in the detector's configuration (key programs, default kubectl).",
    mitre="T1609",
)


class {{pascal}}(Detector):
    name = "{{name}}"
    version = "0.1.0"
    description = "Reports a run of a program named in the configuration key programs."
    subscriptions = ["exec"]
    specs = [SPEC]
    defaults = {"programs": ["kubectl"]}
    # Read while componentize-py builds the component: it has no files when it runs.
    self_test_fixture = include_text(__file__, "fixtures/detect.jsonl")

    def on_exec(self, event, exec_event):
        watched = basename(exec_event.filename) in self.config.programs
        if watched and self.policy.permits(SPEC.finding_type, event.process):
            return (FindingBuilder(SPEC, event)
                    .evidence("filename", exec_event.filename)
                    .evidence("cmdline", " ".join(exec_event.args)))
        return None


WitWorld = export({{pascal}})
