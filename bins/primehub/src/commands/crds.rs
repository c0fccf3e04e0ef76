//! `primehub crds`: print the CustomResourceDefinitions.

use std::io::Write;

use anyhow::Context;
use primehub_model::crd;

/// Writes `crd::to_yaml(&crd::all())` to `out`.
pub fn run(out: &mut impl Write) -> anyhow::Result<()> {
    let yaml = crd::to_yaml(&crd::all()).context("rendering the CRDs as YAML")?;
    out.write_all(yaml.as_bytes())
        .and_then(|()| out.flush())
        .context("writing the CRDs to stdout")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_every_crd() -> anyhow::Result<()> {
        let mut out = Vec::new();
        run(&mut out)?;
        let text = String::from_utf8(out)?;
        assert_eq!(text.matches("kind: CustomResourceDefinition").count(), 12);
        assert!(text.starts_with("---\n"));
        Ok(())
    }
}
