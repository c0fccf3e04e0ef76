use primehub_graphql::error::format_server_error;
use primehub_graphql::{Error, ErrorCode};

fn formatted(error: Error) -> async_graphql::ServerError {
    let mut server = async_graphql::Error::from(error).into_server_error(Default::default());
    format_server_error(&mut server);
    server
}

#[test]
fn invalid_input_names_field_and_code() {
    let e = formatted(Error::invalid("data.cpuLimit", "must be greater than 0"));
    assert_eq!(e.message, "data.cpuLimit: must be greater than 0");
    let ext = e.extensions.expect("extensions");
    assert_eq!(
        ext.get("code").map(|v| v.to_string()),
        Some("\"REQUEST_BODY_INVALID\"".into())
    );
    assert_eq!(
        ext.get("field").map(|v| v.to_string()),
        Some("\"data.cpuLimit\"".into())
    );
}

#[test]
fn backend_failures_hide_their_details() {
    let e = formatted(Error::Keycloak(primehub_keycloak::KeycloakError::conflict(
        "secret detail",
    )));
    assert_eq!(e.message, "internal server error");
    assert_eq!(ErrorCode::GroupConflictName.as_str(), "GROUP_CONFLICT_NAME");
}
