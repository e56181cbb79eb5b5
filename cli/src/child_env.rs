//! The environment `gpa run` gives the program: the settings the preload library reads
//! (`LD_PRELOAD`, `GPA_*`).
//!
//! # Design
//! `std::process::Command::env` hands the child a copy of the environment sorted by name, so a
//! program that prints or walks its environment (`env`, a test comparing it) would see it
//! reordered under gpa, where Valgrind only adds its own variables. Instead the settings are
//! collected here and written into gpa's own environment just before the program starts
//! ([`ChildEnv::apply`]); the program inherits it as it is: its own variables in their order,
//! a changed one (`LD_PRELOAD`) in its place, new ones at the end, removed ones gone.
//!
//! # Invariants
//! `apply` runs while `gpa run` has a single thread (it starts none before the program), so
//! changing the process environment races with nothing.

use std::ffi::OsString;

/// Settings for the program's environment, in the order they were given.
#[derive(Default)]
pub(crate) struct ChildEnv {
    changes: Vec<(&'static str, Option<OsString>)>,
}

impl ChildEnv {
    /// Sets `key` to `value` (a later setting of the same key wins).
    pub(crate) fn set(&mut self, key: &'static str, value: impl Into<OsString>) -> &mut Self {
        self.changes.push((key, Some(value.into())));
        self
    }

    /// Removes `key` from the program's environment.
    pub(crate) fn remove(&mut self, key: &'static str) -> &mut Self {
        self.changes.push((key, None));
        self
    }

    /// Writes the settings into this process's environment, which the program inherits.
    pub(crate) fn apply(self) {
        for (key, value) in self.changes {
            match value {
                Some(value) => std::env::set_var(key, value),
                None => std::env::remove_var(key),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_keep_the_environments_order_and_replace_in_place() {
        std::env::set_var("GPA_CHILD_ENV_TEST_A", "1");
        std::env::set_var("GPA_CHILD_ENV_TEST_B", "2");
        let mut env = ChildEnv::default();
        env.set("GPA_CHILD_ENV_TEST_A", "changed")
            .remove("GPA_CHILD_ENV_TEST_B")
            .set("GPA_CHILD_ENV_TEST_C", "new");
        env.apply();
        let keys: Vec<String> = std::env::vars()
            .map(|(key, _)| key)
            .filter(|key| key.starts_with("GPA_CHILD_ENV_TEST_"))
            .collect();
        assert_eq!(keys, ["GPA_CHILD_ENV_TEST_A", "GPA_CHILD_ENV_TEST_C"]);
        assert_eq!(std::env::var("GPA_CHILD_ENV_TEST_A").unwrap(), "changed");
    }
}
