//! `deploy/crds/primehub-crds.yaml` must be exactly what `primehub crds` prints.

use std::path::PathBuf;

use primehub_model::crd;

#[test]
fn deploy_crds_file_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds/primehub-crds.yaml");
    let expected = crd::to_yaml(&crd::all()).expect("CRDs render as YAML");
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is missing or out of date with the crd module.\n\
         Regenerate it with:\n\n    cargo run -p primehub -- crds > deploy/crds/primehub-crds.yaml\n",
        path.display()
    );
}
