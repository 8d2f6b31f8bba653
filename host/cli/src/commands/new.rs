//! `harrier new detector NAME --lang LANG`: write a detector project that
//! builds to a component (`make`) and passes its own test (`make test`).

use anyhow::Context;
use harrier_authoring::{DetectorName, Scaffold};

use crate::cli::{NewCommand, NewDetectorArgs};

/// Run `harrier new`.
pub fn new(cmd: NewCommand) -> anyhow::Result<()> {
    match cmd {
        NewCommand::Detector(args) => detector(args),
    }
}

fn detector(args: NewDetectorArgs) -> anyhow::Result<()> {
    let name = DetectorName::parse(&args.name)?;
    let dir = args.dir.unwrap_or_else(|| name.kebab.clone().into());
    let written = Scaffold::new(name, args.lang)
        .write(&dir)
        .with_context(|| format!("writing the {} scaffold", args.lang.name()))?;
    // stdout stays for findings; what was done goes to stderr.
    eprintln!(
        "wrote {} files to {}; next: cd {} && make test",
        written.len(),
        dir.display(),
        dir.display()
    );
    Ok(())
}
