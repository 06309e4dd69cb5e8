//! `${env:NAME}`, `${env:NAME:-default}` and `${var:NAME}` in override values. Any other
//! `$` text is literal.

use std::collections::BTreeMap;

use serde_json::Value;

/// A piece of a template string.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Literal text.
    Lit(String),
    /// A process environment variable, with an optional default.
    Env {
        /// Variable name.
        name: String,
        /// Value when unset.
        default: Option<String>,
    },
    /// A spec variable of the chosen environment.
    Var(String),
}

/// A parsed string value.
#[derive(Debug, Clone, PartialEq)]
pub struct Template(pub Vec<Part>);

impl Template {
    /// Parses `text`; an unterminated `${env:` or `${var:` is an error.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("${") {
            let after = &rest[at + 2..];
            let kind = if after.starts_with("env:") {
                "env"
            } else if after.starts_with("var:") {
                "var"
            } else {
                lit.push_str(&rest[..at + 2]);
                rest = after;
                continue;
            };
            lit.push_str(&rest[..at]);
            let Some(end) = after.find('}') else {
                return Err(format!("`${{{kind}:` is not closed with `}}`"));
            };
            let body = &after[4..end];
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            if kind == "env" {
                let (name, default) = match body.split_once(":-") {
                    Some((n, d)) => (n, Some(d.to_string())),
                    None => (body, None),
                };
                check_name(name, "environment variable")?;
                parts.push(Part::Env {
                    name: name.to_string(),
                    default,
                });
            } else {
                check_name(body, "variable")?;
                parts.push(Part::Var(body.to_string()));
            }
            rest = &after[end + 1..];
        }
        lit.push_str(rest);
        if !lit.is_empty() || parts.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template(parts))
    }

    /// Process environment variables it reads.
    pub fn env_names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|p| match p {
            Part::Env { name, .. } => Some(name.as_str()),
            _ => None,
        })
    }

    /// Variables it uses.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            _ => None,
        })
    }

    /// The text with every part filled in; `env` looks up process variables.
    pub fn render(
        &self,
        vars: &BTreeMap<String, String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, String> {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Part::Lit(t) => out.push_str(t),
                Part::Var(v) => out.push_str(
                    vars.get(v)
                        .ok_or_else(|| format!("variable `{v}` is not defined"))?,
                ),
                Part::Env { name, default } => match (env(name), default) {
                    (Some(v), _) => out.push_str(&v),
                    (None, Some(d)) => out.push_str(d),
                    (None, None) => {
                        return Err(format!(
                            "environment variable {name} is not set (give a default with ${{env:{name}:-…}})"
                        ));
                    }
                },
            }
        }
        Ok(out)
    }
}

fn check_name(name: &str, what: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(format!("`{name}` is not a valid {what} name"))
    }
}

/// A JSON value whose strings may be templates.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueTemplate {
    /// A string template.
    Text(Template),
    /// An array.
    Array(Vec<ValueTemplate>),
    /// An object, keys in written order.
    Object(Vec<(String, ValueTemplate)>),
    /// Any other JSON value, taken as is.
    Plain(Value),
}

impl ValueTemplate {
    /// Parses every string inside `v`.
    pub fn parse(v: &Value) -> Result<ValueTemplate, String> {
        Ok(match v {
            Value::String(s) => ValueTemplate::Text(Template::parse(s)?),
            Value::Array(items) => {
                ValueTemplate::Array(items.iter().map(Self::parse).collect::<Result<_, _>>()?)
            }
            Value::Object(map) => ValueTemplate::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), Self::parse(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => ValueTemplate::Plain(other.clone()),
        })
    }

    /// Every process environment variable read.
    pub fn env_names(&self) -> Vec<String> {
        match self {
            ValueTemplate::Text(t) => t.env_names().map(str::to_string).collect(),
            ValueTemplate::Array(items) => items.iter().flat_map(Self::env_names).collect(),
            ValueTemplate::Object(pairs) => pairs.iter().flat_map(|(_, v)| v.env_names()).collect(),
            ValueTemplate::Plain(_) => Vec::new(),
        }
    }

    /// Every variable used.
    pub fn vars(&self) -> Vec<String> {
        match self {
            ValueTemplate::Text(t) => t.vars().map(str::to_string).collect(),
            ValueTemplate::Array(items) => items.iter().flat_map(Self::vars).collect(),
            ValueTemplate::Object(pairs) => pairs.iter().flat_map(|(_, v)| v.vars()).collect(),
            ValueTemplate::Plain(_) => Vec::new(),
        }
    }

    /// The value with every template filled in.
    pub fn render(
        &self,
        vars: &BTreeMap<String, String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Value, String> {
        Ok(match self {
            ValueTemplate::Text(t) => Value::String(t.render(vars, env)?),
            ValueTemplate::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| i.render(vars, env))
                    .collect::<Result<_, _>>()?,
            ),
            ValueTemplate::Object(pairs) => Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), v.render(vars, env)?)))
                    .collect::<Result<_, String>>()?,
            ),
            ValueTemplate::Plain(v) => v.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "SET").then(|| "s3cret".to_string())
    }

    #[test]
    fn parses_and_renders() {
        let vars = BTreeMap::from([("team".to_string(), "orders".to_string())]);
        let t =
            Template::parse("pre-${var:team}-${env:SET}-${env:UNSET:-dflt}-$5-${other}").unwrap();
        assert_eq!(
            t.render(&vars, &env).unwrap(),
            "pre-orders-s3cret-dflt-$5-${other}"
        );
        assert!(
            Template::parse("${env:UNSET}")
                .unwrap()
                .render(&vars, &env)
                .unwrap_err()
                .contains("UNSET")
        );
        assert!(Template::parse("${env:OPEN").is_err());
        assert!(Template::parse("${var:1x}").is_err());
        // Names: a letter or `_`, then letters, digits, `_`, `-` and `.`.
        for ok in ["${var:a-b}", "${var:a.b}", "${var:_a1}", "${env:A_B}"] {
            assert!(Template::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["${var:a b}", "${var:a/b}", "${var:-a}", "${env:A+B}"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Template::parse("$$ plain")
                .unwrap()
                .render(&vars, &env)
                .unwrap(),
            "$$ plain"
        );
    }

    #[test]
    fn names_what_it_reads() {
        let v = ValueTemplate::parse(
            &serde_json::json!({"a": "${env:SET}", "b": ["${var:x}", 1, "${env:B:-d}"]}),
        )
        .unwrap();
        assert_eq!(v.vars(), vec!["x"]);
        assert_eq!(v.env_names(), vec!["SET", "B"]);
    }
}
