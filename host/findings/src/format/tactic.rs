//! MITRE ATT&CK tactics for GuardDuty threat purposes.

/// The ATT&CK tactic (id, name) a GuardDuty threat purpose (the part of a
/// finding type before `:`) corresponds to, when there is one.
pub(crate) fn for_type(finding_type: &str) -> Option<(&'static str, &'static str)> {
    let purpose = finding_type.split(':').next()?;
    Some(match purpose {
        "Execution" => ("TA0002", "Execution"),
        "Persistence" => ("TA0003", "Persistence"),
        "PrivilegeEscalation" => ("TA0004", "Privilege Escalation"),
        "DefenseEvasion" => ("TA0005", "Defense Evasion"),
        "CredentialAccess" => ("TA0006", "Credential Access"),
        "Discovery" => ("TA0007", "Discovery"),
        "Collection" => ("TA0009", "Collection"),
        "Backdoor" | "Trojan" => ("TA0011", "Command and Control"),
        "Exfiltration" => ("TA0010", "Exfiltration"),
        "Impact" | "CryptoCurrency" => ("TA0040", "Impact"),
        _ => return None,
    })
}
