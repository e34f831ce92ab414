//! The pinned npm packages the suite runs (axe-core for accessibility,
//! openapi-typescript and TypeScript for the generated-types check), in
//! `$TESSERA_NODE_TOOLS` (by default `~/.cache/tessera/node-tools`),
//! installed from the npm registry on first use when that folder does not
//! hold exactly them; a test that cannot get them fails.

use super::python_tools::run_ok;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

const PACKAGE_JSON: &str = r#"{
  "private": true,
  "dependencies": {
    "axe-core": "4.14.1",
    "openapi-typescript": "7.13.0",
    "typescript": "5.9.3"
  }
}
"#;

/// The folder holding `node_modules`, installed once per test run.
pub fn node_tools() -> PathBuf {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let folder = std::env::var_os("TESSERA_NODE_TOOLS")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    let home = std::env::var_os("HOME").expect("HOME is set");
                    PathBuf::from(home).join(".cache/tessera/node-tools")
                });
            let marker = folder.join("tessera-tools.json");
            if std::fs::read_to_string(&marker).ok().as_deref() != Some(PACKAGE_JSON) {
                std::fs::create_dir_all(&folder).expect("create the node tools folder");
                std::fs::write(folder.join("package.json"), PACKAGE_JSON)
                    .expect("write package.json");
                run_ok(
                    Command::new("npm")
                        .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
                        .current_dir(&folder),
                );
                std::fs::write(&marker, PACKAGE_JSON).expect("write the tools marker");
            }
            folder
        })
        .clone()
}

/// A command-line tool from the installed packages (`tsc`, `openapi-typescript`).
pub fn node_tool(name: &str) -> PathBuf {
    let tool = node_tools().join("node_modules/.bin").join(name);
    assert!(
        tool.exists(),
        "{} is missing after installing the node tools",
        tool.display()
    );
    tool
}

/// axe-core's browser bundle, to inject into a page.
pub fn axe_source() -> String {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE
        .get_or_init(|| {
            std::fs::read_to_string(node_tools().join("node_modules/axe-core/axe.min.js"))
                .expect("axe-core is installed")
        })
        .clone()
}
