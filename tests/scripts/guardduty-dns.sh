#!/bin/sh
# Query each of GuardDuty's public test domains (the ones AWS's
# amazon-guardduty-tester uses for its eleven DNS-based runtime finding
# types) the way its threatIntel/request.sh does: one curl each, one second
# to connect. Run it with DNS answered by a resolver you control.
for domain in \
    c2.guarddutyc2activityb.com \
    crypto.guarddutyc2activityb.com \
    abused-rep.guarddutyc2activityb.com \
    crypto-rep.guarddutyc2activityb.com \
    malicious-rep.guarddutyc2activityb.com \
    suspicious-rep.guarddutyc2activityb.com \
    guarddutyblackholeactivity.com \
    guarddutydroppointactivity.com \
    guarddutydgaactivity.com \
    guarddutydrivebyactivity.com \
    guarddutyphishingactivity.com
do
    curl -s --connect-timeout 1 "http://$domain/" >/dev/null
done
exit 0
