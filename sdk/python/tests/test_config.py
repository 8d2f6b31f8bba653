"""Configuration: the shared keys, the detector's own keys, errors as Rust words them."""

import unittest

from harrier_sdk import ConfigError, FakeHost, GlobList, process_info
from harrier_sdk.config import parse
from harrier_sdk.globs import glob_matches

from .support import process

OWN = {"names": []}


def error(text, defaults=OWN):
    """The message of the ConfigError parsing ``text`` raises."""
    try:
        parse(text, defaults)
    except ConfigError as e:
        return str(e)
    raise AssertionError(f"{text!r} was accepted")


class GlobTest(unittest.TestCase):
    def test_star_crosses_slashes_and_question_is_one_char(self):
        self.assertTrue(glob_matches("/opt/*", "/opt/a/b/c"))
        self.assertTrue(glob_matches("*cat*", "dog_cat_dog"))
        self.assertTrue(glob_matches("c?t", "cat"))
        self.assertFalse(glob_matches("c?t", "cart"))
        self.assertFalse(glob_matches("????", "cat"))
        self.assertFalse(glob_matches("*d", "cat"))
        self.assertTrue(glob_matches("", ""))
        self.assertTrue(glob_matches("*", ""))
        self.assertFalse(glob_matches("[ab]", "a"))
        self.assertTrue(glob_matches("[ab]", "[ab]"))
        self.assertTrue(glob_matches("a*b*c", "axxbyybzzc"))
        self.assertFalse(glob_matches("a*b*c", "axxbyybzz"))
        self.assertTrue(GlobList(["/x", "/usr/*"]).matches("/usr/bin/ls"))
        self.assertFalse(GlobList([]).matches("/usr/bin/ls"))


class ConfigTest(unittest.TestCase):
    def test_splits_policy_from_own_keys(self):
        policy, own = parse('{"names":["a"],"allow_executables":["/opt/*"],"containers_only":true}', OWN)
        self.assertEqual(own.names, ["a"])
        self.assertTrue(policy.containers_only)
        self.assertFalse(policy.permits("T", process(exe="/bin/x"), None))
        self.assertFalse(policy.permits("T", process(exe="/opt/x", container_id="c")))
        self.assertTrue(policy.permits("T", process(exe="/bin/x", container_id="c")))

    def test_defaults_apply_and_are_not_shared(self):
        _, a = parse("{}", {"names": ["x"], "limit": 3, "ratio": 0.5, "on": True, "label": "l"})
        self.assertEqual((a.names, a.limit, a.ratio, a.on, a.label), (["x"], 3, 0.5, True, "l"))
        a.names.append("y")
        _, b = parse("", {"names": ["x"]})
        self.assertEqual(b.names, ["x"])
        _, c = parse('{"ratio": 2}', {"ratio": 0.5})
        self.assertEqual(c.ratio, 2.0)

    def test_errors_name_the_field_like_rust(self):
        self.assertEqual(error('{"names":["a", 3]}'),
                         "invalid configuration: `names[1]`: invalid type: integer `3`, expected a string")
        self.assertEqual(error('{"nmes":[]}'),
                         "invalid configuration: `nmes`: unknown field `nmes`, expected `names`")
        self.assertEqual(error('{"containers_only":"yes"}'),
                         'invalid configuration: `containers_only`: invalid type: string "yes", expected a boolean')
        self.assertEqual(error('{"allow_paths":"/tmp"}'),
                         'invalid configuration: `allow_paths`: invalid type: string "/tmp", expected a sequence')
        self.assertEqual(error('{"disabled_types":null}'),
                         "invalid configuration: `disabled_types`: invalid type: null, expected a sequence")
        self.assertIn("line 2", error('{\n"names": ['))
        self.assertTrue(error('{\n"names": [').startswith("invalid configuration: not valid JSON: "))
        self.assertEqual(error("[]"), "invalid configuration: the configuration must be a JSON object")
        parse("", OWN)
        parse("  \n", OWN)

    def test_unknown_keys_list_what_is_expected(self):
        self.assertIn("unknown field `x`, there are no fields", error('{"x":1}', {}))
        self.assertIn("expected `a` or `b`", error('{"x":1}', {"a": [], "b": []}))
        self.assertIn("expected one of `a`, `b`, `c`", error('{"x":1}', {"a": [], "b": [], "c": []}))
        # Keys are checked in sorted order, as serde meets them.
        self.assertIn("`a`: invalid type", error('{"z":1,"a":1}', {"a": []}))

    def test_scalar_types(self):
        defaults = {"limit": 3, "ratio": 0.5, "on": False, "label": ""}
        self.assertIn("`limit`: invalid value: integer `-1`, expected u64", error('{"limit":-1}', defaults))
        self.assertIn("`limit`: invalid type: floating point `1.5`, expected u64", error('{"limit":1.5}', defaults))
        self.assertIn("`limit`: invalid type: boolean `true`, expected u64", error('{"limit":true}', defaults))
        self.assertIn("`ratio`: invalid type: string \"x\", expected f64", error('{"ratio":"x"}', defaults))
        self.assertIn("`on`: invalid type: integer `1`, expected a boolean", error('{"on":1}', defaults))
        self.assertIn("`label`: invalid type: map, expected a string", error('{"label":{}}', defaults))
        with self.assertRaises(TypeError):
            parse("{}", {"weird": {"a": 1}})

    def test_errors_are_value_errors_with_the_reason(self):
        try:
            parse('{"nope":1}', OWN)
        except ValueError as e:
            self.assertTrue(e.reason.startswith("`nope`: unknown field"))
        else:
            self.fail("accepted")

    def test_paths_and_disabled_types(self):
        policy, _ = parse('{"allow_paths":["/tmp/ok/*"],"disabled_types":["A"]}', OWN)
        p = process(exe="/bin/x")
        self.assertFalse(policy.permits("A", p, None))
        self.assertFalse(policy.permits("B", p, "/tmp/ok/file"))
        self.assertTrue(policy.permits("B", p, "/tmp/other"))
        self.assertTrue(policy.permits("B", p))

    def test_allow_parents_asks_the_host_four_levels_up(self):
        host = FakeHost()
        chain = ["/sbin/init", "/usr/bin/containerd", "/usr/bin/a", "/usr/bin/b", "/usr/bin/c", "/bin/sh"]
        for pid, exe in enumerate(chain, start=1):
            host.add_process(process_info(pid, pid - 1, exe))
        me = process(pid=6, ppid=5, exe="/bin/sh")
        near, _ = parse('{"allow_parents":["/usr/bin/a"]}', OWN, host)
        self.assertFalse(near.permits("T", me))
        fourth, _ = parse('{"allow_parents":["*containerd"]}', OWN, host)
        self.assertFalse(fourth.permits("T", me), "containerd is the 4th ancestor")
        fifth, _ = parse('{"allow_parents":["/sbin/init"]}', OWN, host)
        self.assertTrue(fifth.permits("T", me), "init is the 5th ancestor")
        none, _ = parse("{}", OWN, None)
        self.assertTrue(none.permits("T", me), "no allow_parents: the host is not asked")


if __name__ == "__main__":
    unittest.main()
