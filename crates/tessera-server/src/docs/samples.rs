//! Copy-and-paste examples of one request in curl, JavaScript (fetch, Node
//! 18+) and Python (requests). They read the server and the credential from
//! the environment (`TESSERA_URL`, `TESSERA_API_KEY`, or `TESSERA_USERNAME`
//! and `TESSERA_PASSWORD` for key management), so they work unchanged
//! against any Tessera.

use serde_json::{Value, json};
use std::fmt::Write;

#[derive(Clone, Copy)]
pub enum Credential {
    ApiKey,
    Password,
    Nothing,
}

pub enum Body {
    Json(Value),
    /// A document upload: a local file plus the metadata parts.
    Upload {
        file_name: &'static str,
        parts: Vec<(&'static str, String)>,
    },
}

/// One request to illustrate.
pub struct Sample {
    pub method: &'static str,
    /// The path and query, with example ids filled in.
    pub target: String,
    pub credential: Credential,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Body>,
    /// Save the response body to this file instead of printing JSON.
    pub save_as: Option<&'static str>,
}

impl Sample {
    pub fn new(method: &'static str, target: String, credential: Credential) -> Sample {
        Sample {
            method,
            target,
            credential,
            headers: Vec::new(),
            body: None,
            save_as: None,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Sample {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: Body) -> Sample {
        self.body = Some(body);
        self
    }

    pub fn save_as(mut self, file: &'static str) -> Sample {
        self.save_as = Some(file);
        self
    }

    /// The `x-codeSamples` entries (as Redoc and most generators read them).
    pub fn code_samples(&self) -> Value {
        json!([
            {"lang": "Shell", "label": "curl", "source": self.curl()},
            {"lang": "JavaScript", "label": "JavaScript", "source": self.javascript()},
            {"lang": "Python", "label": "Python", "source": self.python()},
        ])
    }

    /// The same examples as Markdown, for interfaces that only show the
    /// operation's description (Swagger UI).
    pub fn markdown(&self) -> String {
        format!(
            "**curl**\n\n```bash\n{}\n```\n\n**JavaScript**\n\n```javascript\n{}\n```\n\n**Python**\n\n```python\n{}\n```",
            self.curl(),
            self.javascript(),
            self.python()
        )
    }

    fn curl(&self) -> String {
        let mut lines = vec![match self.method {
            "GET" => format!("curl \"$TESSERA_URL{}\"", self.target),
            method => format!("curl -X {method} \"$TESSERA_URL{}\"", self.target),
        }];
        match self.credential {
            Credential::ApiKey => lines.push("-H \"X-API-KEY: $TESSERA_API_KEY\"".to_owned()),
            Credential::Password => {
                lines.push("-u \"$TESSERA_USERNAME:$TESSERA_PASSWORD\"".to_owned());
            }
            Credential::Nothing => {}
        }
        for (name, value) in &self.headers {
            lines.push(format!("-H '{name}: {value}'"));
        }
        match &self.body {
            Some(Body::Json(value)) => {
                lines.push("-H 'Content-Type: application/json'".to_owned());
                lines.push(format!("-d '{value}'"));
            }
            Some(Body::Upload { file_name, parts }) => {
                lines.push(format!("-F 'file=@{file_name}'"));
                for (name, value) in parts {
                    lines.push(format!("-F '{name}={value}'"));
                }
            }
            None => {}
        }
        if let Some(file) = self.save_as {
            lines.push(format!("-o {file}"));
        }
        lines.join(" \\\n  ")
    }

    fn javascript(&self) -> String {
        let mut out = String::new();
        if let Some(Body::Upload { .. }) = &self.body {
            out.push_str("import { openAsBlob } from \"node:fs\";\n");
        }
        if self.save_as.is_some() {
            out.push_str("import { writeFile } from \"node:fs/promises\";\n");
        }
        if !out.is_empty() {
            out.push('\n');
        }
        let mut headers: Vec<String> = Vec::new();
        match self.credential {
            Credential::ApiKey => {
                headers.push("\"X-API-KEY\": process.env.TESSERA_API_KEY".to_owned());
            }
            Credential::Password => headers.push(
                "Authorization: \"Basic \" + btoa(`${process.env.TESSERA_USERNAME}:${process.env.TESSERA_PASSWORD}`)"
                    .to_owned(),
            ),
            Credential::Nothing => {}
        }
        for (name, value) in &self.headers {
            headers.push(format!("\"{name}\": {}", js_string(value)));
        }
        let body = match &self.body {
            Some(Body::Json(value)) => {
                headers.push("\"Content-Type\": \"application/json\"".to_owned());
                Some(format!("JSON.stringify({})", indent(&pretty(value), 2)))
            }
            Some(Body::Upload { file_name, parts }) => {
                out.push_str("const form = new FormData();\n");
                let _ = writeln!(
                    out,
                    "form.append(\"file\", await openAsBlob({}), {});",
                    js_string(file_name),
                    js_string(file_name)
                );
                for (name, value) in parts {
                    let _ = writeln!(
                        out,
                        "form.append({}, {});",
                        js_string(name),
                        js_string(value)
                    );
                }
                Some("form".to_owned())
            }
            None => None,
        };
        let _ = write!(
            out,
            "const response = await fetch(`${{process.env.TESSERA_URL}}{}`, {{\n  method: \"{}\",\n",
            self.target, self.method
        );
        if !headers.is_empty() {
            let _ = writeln!(
                out,
                "  headers: {{\n    {},\n  }},",
                headers.join(",\n    ")
            );
        }
        if let Some(body) = body {
            let _ = writeln!(out, "  body: {body},");
        }
        out.push_str("});\n");
        out.push_str("if (!response.ok) throw new Error(JSON.stringify(await response.json()));\n");
        match (self.save_as, self.method) {
            (Some(file), _) => {
                let _ = write!(
                    out,
                    "await writeFile({}, Buffer.from(await response.arrayBuffer()));",
                    js_string(file)
                );
            }
            (None, "DELETE") => out.push_str("console.log(response.status); // 204"),
            (None, _) => out.push_str("console.log(await response.json());"),
        }
        out
    }

    fn python(&self) -> String {
        let mut out = String::from("import os\n\nimport requests\n\n");
        let mut arguments = vec![format!("f\"{{os.environ['TESSERA_URL']}}{}\"", self.target)];
        let mut headers: Vec<String> = Vec::new();
        match self.credential {
            Credential::ApiKey => {
                headers.push("\"X-API-KEY\": os.environ[\"TESSERA_API_KEY\"]".to_owned());
            }
            Credential::Password => arguments.push(
                "auth=(os.environ[\"TESSERA_USERNAME\"], os.environ[\"TESSERA_PASSWORD\"])"
                    .to_owned(),
            ),
            Credential::Nothing => {}
        }
        for (name, value) in &self.headers {
            headers.push(format!("\"{name}\": {}", python_value(&json!(value))));
        }
        if !headers.is_empty() {
            arguments.push(format!("headers={{{}}}", headers.join(", ")));
        }
        match &self.body {
            Some(Body::Json(value)) => {
                arguments.push(format!("json={}", indent(&python_value(value), 4)));
            }
            Some(Body::Upload { file_name, parts }) => {
                arguments.push(format!(
                    "files={{\"file\": open({}, \"rb\")}}",
                    python_value(&json!(file_name))
                ));
                let data: Vec<String> = parts
                    .iter()
                    .map(|(name, value)| {
                        format!(
                            "{}: {}",
                            python_value(&json!(name)),
                            python_value(&json!(value))
                        )
                    })
                    .collect();
                arguments.push(format!("data={{{}}}", data.join(", ")));
            }
            None => {}
        }
        let _ = write!(
            out,
            "response = requests.{}(\n    {},\n)\nresponse.raise_for_status()\n",
            self.method.to_lowercase(),
            arguments.join(",\n    ")
        );
        match (self.save_as, self.method) {
            (Some(file), _) => {
                let _ = write!(
                    out,
                    "with open({}, \"wb\") as saved:\n    saved.write(response.content)",
                    python_value(&json!(file))
                );
            }
            (None, "DELETE") => out.push_str("print(response.status_code)  # 204"),
            (None, _) => out.push_str("print(response.json())"),
        }
        out
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

fn js_string(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// Indents every line but the first, to nest a literal inside a call.
fn indent(text: &str, spaces: usize) -> String {
    text.replace('\n', &format!("\n{}", " ".repeat(spaces)))
}

/// A JSON value written as a Python literal.
fn python_value(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(_) => value.to_string(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_value).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) if map.is_empty() => "{}".to_owned(),
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("    {}: {},", Value::String(k.clone()), python_value(v)))
                .collect();
            format!("{{\n{}\n}}", entries.join("\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_create_in_three_languages() {
        let sample = Sample::new("POST", "/api/v1/sectors".to_owned(), Credential::ApiKey)
            .header("Idempotency-Key", "3b9e8a1c")
            .body(Body::Json(
                json!({"name": "Finance", "active": true, "parent": null}),
            ));
        assert_eq!(
            sample.curl(),
            "curl -X POST \"$TESSERA_URL/api/v1/sectors\" \\\n  -H \"X-API-KEY: $TESSERA_API_KEY\" \\\n  -H 'Idempotency-Key: 3b9e8a1c' \\\n  -H 'Content-Type: application/json' \\\n  -d '{\"active\":true,\"name\":\"Finance\",\"parent\":null}'"
        );
        let python = sample.python();
        assert!(python.contains("requests.post("), "{python}");
        assert!(python.contains("\"active\": True,"), "{python}");
        assert!(python.contains("\"parent\": None,"), "{python}");
        let javascript = sample.javascript();
        assert!(javascript.contains("method: \"POST\""), "{javascript}");
        assert!(
            javascript.contains("\"X-API-KEY\": process.env.TESSERA_API_KEY"),
            "{javascript}"
        );
    }

    #[test]
    fn a_download_saves_the_bytes() {
        let sample = Sample::new(
            "GET",
            "/api/v1/documents/doc_x/content".to_owned(),
            Credential::ApiKey,
        )
        .save_as("contract.pdf");
        assert!(sample.curl().ends_with("-o contract.pdf"));
        assert!(sample.python().contains("saved.write(response.content)"));
        assert!(
            sample
                .javascript()
                .contains("await writeFile(\"contract.pdf\"")
        );
    }
}
