//! `rename:` rules.

use std::path::PathBuf;

use super::V;
use crate::spec::raw::{self};
use crate::spec::{RenameOp, RenameRule};
use crate::yaml::de::Spanned;

impl V {
    pub(super) fn affix(&mut self, a: &Option<Spanned<String>>) -> String {
        let Some(a) = a else { return String::new() };
        if a.value
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
        {
            self.error(
                a.span,
                "spec.bad_name",
                "a prefix or suffix may not contain '/', '\\' or control characters",
            );
        }
        a.value.clone()
    }
    pub(super) fn rename(
        &mut self,
        index: usize,
        r: &Spanned<raw::RawRename>,
    ) -> Option<RenameRule> {
        let x = &r.value;
        let kinds = self.kinds_of(&x.kind);
        let names = self.names(&x.names);
        let except = x.except.as_ref().map(|_| self.names(&x.except));
        let affix = x.prefix.is_some() || x.suffix.is_some();
        let regex = x.pattern.is_some() || x.to.is_some();
        let hook = x.hook.is_some();
        let op = match (affix, regex, hook) {
            (true, false, false) => RenameOp::Affix {
                prefix: self.affix(&x.prefix),
                suffix: self.affix(&x.suffix),
            },
            (false, true, false) => match (&x.pattern, &x.to) {
                (Some(m), Some(to)) => match self.regexes.compile(&m.value, &m.value) {
                    Ok(re) => RenameOp::Regex {
                        re,
                        to: to.value.clone(),
                    },
                    Err((code, message)) => {
                        self.error(m.span, code, message);
                        return None;
                    }
                },
                (Some(m), None) => {
                    self.error(
                        m.span,
                        "spec.missing",
                        "`match` needs `to`: the replacement",
                    );
                    return None;
                }
                (None, Some(to)) => {
                    self.error(
                        to.span,
                        "spec.missing",
                        "`to` needs `match`: the expression to replace",
                    );
                    return None;
                }
                (None, None) => unreachable!("regex is set"),
            },
            (false, false, true) => {
                RenameOp::Hook(PathBuf::from(&x.hook.as_ref().expect("hook is set").value))
            }
            (false, false, false) => {
                self.error(
                    r.span,
                    "spec.missing",
                    "a rename rule needs `prefix`/`suffix`, `match` with `to`, or `hook`",
                );
                return None;
            }
            _ => {
                self.error(
                    r.span,
                    "spec.conflicting",
                    "a rename rule does one thing: `prefix`/`suffix`, `match`/`to`, or `hook`",
                );
                return None;
            }
        };
        Some(RenameRule {
            kinds,
            names,
            except,
            op,
            index,
            span: r.span,
        })
    }
}
