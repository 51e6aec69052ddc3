//! The API's one error type: a status, a stable machine code, a human message and the
//! field at fault. Internal detail is logged, never returned.

use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::schedule::format_local;
use crate::store::StoreError;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine code: `bad_request`, `invalid_field`, `unauthorized`,
    /// `forbidden`, `not_rostered`, `not_found`, `conflict`, `outside_window`,
    /// `payload_too_large`, `too_many_attempts`, `internal`.
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// The request field at fault, if one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// With a double booking (`409 conflict`, field `roster`): the clashes, sorted by
    /// time, at most 50.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<BookingConflict>,
    /// With `409 outside_window`: when the join window of the meeting's next occurrence
    /// opens, unix seconds UTC (absent when no occurrence is left).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<i64>,
    /// With `409 outside_window`: when that window closes, unix seconds UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<i64>,
}

/// Most clashes listed in one answer (a year-long series with 200 rooms could clash
/// thousands of times); the message gives the total.
pub const MAX_CONFLICTS_LISTED: usize = 50;

/// A room terminal that another meeting already holds at that time.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingConflict {
    /// The meeting already booked.
    pub meeting_id: String,
    /// Its title.
    pub title: String,
    /// The terminal in both meetings.
    pub endpoint_id: String,
    /// Start of that meeting's occurrence that overlaps, unix seconds UTC.
    pub occurrence_start: i64,
    /// The same in Hà Nội time, `dd/mm/yyyy HH:MM`.
    pub occurrence_start_local: String,
    /// Start of the requested meeting's occurrence that overlaps it, unix seconds UTC.
    pub requested_start: i64,
}

/// An error answered to an API client.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    /// Boxed: handlers return `Result<_, AppError>`, which should stay small.
    pub body: Box<ErrorBody>,
}

impl AppError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AppError {
            status,
            body: Box::new(ErrorBody {
                code,
                message: message.into(),
                field: None,
                conflicts: Vec::new(),
                opens_at: None,
                closes_at: None,
            }),
        }
    }

    fn with_field(mut self, field: impl Into<String>) -> Self {
        self.body.field = Some(field.into());
        self
    }

    /// 400 `invalid_field`: a value that is present and well-typed but not acceptable.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_field", message).with_field(field)
    }

    /// 400 `bad_request`: a request that cannot be read.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401: no, or no valid, credentials. One message for every cause.
    pub fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: authenticated, but the role does not allow it.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "your role does not allow this",
        )
    }

    /// 403 `not_rostered`: a room terminal asking for a meeting whose roster does not
    /// hold it.
    pub fn not_rostered(meeting_id: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "not_rostered",
            format!("this room terminal is not on the roster of meeting {meeting_id}"),
        )
    }

    /// 409 `outside_window`: no join window of the meeting is open now; `next` is the
    /// next one's `(opens, closes)`, unix seconds, if any occurrence is left.
    pub fn outside_window(message: impl Into<String>, next: Option<(i64, i64)>) -> Self {
        let mut err = Self::new(StatusCode::CONFLICT, "outside_window", message);
        if let Some((opens, closes)) = next {
            err.body.opens_at = Some(opens);
            err.body.closes_at = Some(closes);
        }
        err
    }

    /// 404.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 429.
    pub fn too_many_attempts() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many failed logins for this account; try again in a few minutes",
        )
    }

    /// 500: log the cause, tell the client nothing of it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "API request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the details are in the server's log",
        )
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.status, Json(*self.body)).into_response()
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what, field } => {
                let err = AppError::not_found(what);
                match field {
                    Some(f) => err.with_field(f),
                    None => err,
                }
            }
            StoreError::Conflict { field, message } => {
                AppError::new(StatusCode::CONFLICT, "conflict", message).with_field(field)
            }
            StoreError::DoubleBooked {
                terminal,
                conflicts,
            } => {
                let total = conflicts.len();
                let mut message = match conflicts.first() {
                    Some(c) => format!(
                        "room terminal {terminal} is already booked in the meeting \"{}\" ({}) \
                         at {}",
                        c.title,
                        c.meeting_id,
                        format_local(c.occurrence_start_utc)
                    ),
                    None => format!("room terminal {terminal} is already booked at that time"),
                };
                if total > 1 {
                    message.push_str(&format!(" ({total} clashes in all)"));
                }
                let mut err =
                    AppError::new(StatusCode::CONFLICT, "conflict", message).with_field("roster");
                err.body.conflicts = conflicts
                    .into_iter()
                    .take(MAX_CONFLICTS_LISTED)
                    .map(|c| BookingConflict {
                        occurrence_start_local: format_local(c.occurrence_start_utc),
                        occurrence_start: c.occurrence_start_utc.timestamp(),
                        requested_start: c.candidate_start_utc.timestamp(),
                        meeting_id: c.meeting_id,
                        title: c.title,
                        endpoint_id: c.terminal_id,
                    })
                    .collect();
                err
            }
            e => AppError::internal(e),
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => {
                let text = e.body_text();
                let field = field_of(&text);
                let detail = text
                    .split_once("target type: ")
                    .map_or(text.as_str(), |(_, d)| d);
                let err = AppError::new(StatusCode::BAD_REQUEST, "bad_request", detail);
                match field {
                    Some(f) => err.with_field(f),
                    None => err,
                }
            }
            JsonRejection::JsonSyntaxError(_) => AppError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the body is not valid JSON",
            ),
            JsonRejection::MissingJsonContentType(_) => AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "bad_request",
                "the body must be JSON (Content-Type: application/json)",
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the body is larger than 64 KiB",
            ),
            other => AppError::new(other.status(), "bad_request", other.body_text()),
        }
    }
}

/// The field a serde error names: "missing field `name`", "unknown field `x`", or the
/// path before ": invalid type".
fn field_of(text: &str) -> Option<String> {
    let detail = text.split_once("target type: ").map_or(text, |(_, d)| d);
    for marker in ["missing field `", "unknown field `"] {
        if let Some(rest) = detail.split_once(marker).map(|(_, r)| r) {
            return rest.split('`').next().map(str::to_string);
        }
    }
    let (path, _) = detail.split_once(": ")?;
    (!path.is_empty() && !path.contains(' ')).then(|| path.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_are_found_in_serde_messages() {
        let prefix = "Failed to deserialize the JSON body into the target type: ";
        for (text, field) in [
            ("missing field `name` at line 1 column 2", Some("name")),
            ("unknown field `nme`, expected one of …", Some("nme")),
            (
                "bitrate_cap_kbps: invalid type: string \"x\", expected i64",
                Some("bitrate_cap_kbps"),
            ),
            ("invalid type: integer `1`, expected a map", None),
        ] {
            assert_eq!(
                super::field_of(&format!("{prefix}{text}")).as_deref(),
                field,
                "{text}"
            );
        }
    }
}
