//! Uploaded documents: what type a file is, what type it is served as,
//! and how its name may travel in a header.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

const OCTET_STREAM: &str = "application/octet-stream";

/// Types a download is served as when recorded: documents a browser shows
/// or hands to a viewer but never runs. Anything else (HTML, SVG, XML, and
/// every type not listed) is served as `application/octet-stream`, so a
/// file an uploader labelled `text/html` cannot run as a page.
pub const SERVED_AS_RECORDED: [&str; 20] = [
    "application/pdf",
    "application/zip",
    "application/x-ole-storage",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/tiff",
    "image/heic",
    "text/plain",
    "text/csv",
];

/// The content type to record for an upload: the declared one when it is
/// specific, otherwise what the first bytes show.
pub fn content_type(declared: Option<&str>, content: &[u8]) -> String {
    let declared = declared
        .map(str::trim)
        .filter(|t| is_media_type(t) && !t.eq_ignore_ascii_case(OCTET_STREAM));
    match declared {
        Some(declared) => declared.to_ascii_lowercase(),
        None => sniff(content).to_owned(),
    }
}

fn is_media_type(text: &str) -> bool {
    let essence = text.split(';').next().unwrap_or("").trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    text.len() <= 255
        && text.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && essence
            .split_once('/')
            .is_some_and(|(t, s)| token(t) && token(s))
}

/// The type the first bytes of a file show, by their magic numbers.
fn sniff(content: &[u8]) -> &'static str {
    const SIGNATURES: [(&[u8], &str); 7] = [
        (b"%PDF-", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xFF\xD8\xFF", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"PK\x03\x04", "application/zip"),
        (
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
            "application/x-ole-storage",
        ),
    ];
    if let Some((_, found)) = SIGNATURES
        .iter()
        .find(|(magic, _)| content.starts_with(magic))
    {
        return found;
    }
    let head = &content[..content.len().min(1024)];
    if !head.is_empty() && std::str::from_utf8(head).is_ok() && !head.contains(&0) {
        "text/plain; charset=utf-8"
    } else {
        OCTET_STREAM
    }
}

/// The `Content-Type` a document recorded as `recorded` is served with:
/// its type when on [`SERVED_AS_RECORDED`], keeping no parameter but
/// `charset=utf-8` on text; otherwise `application/octet-stream`.
pub fn served_content_type(recorded: &str) -> String {
    let mut parts = recorded.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
    if !SERVED_AS_RECORDED.contains(&essence.as_str()) {
        return OCTET_STREAM.to_owned();
    }
    let utf8 = parts.any(|parameter| {
        parameter.split_once('=').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("charset")
                && value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        })
    });
    if utf8 && essence.starts_with("text/") {
        format!("{essence}; charset=utf-8")
    } else {
        essence
    }
}

/// The last path component of an uploaded file's name, without control
/// or format characters, at most 255 characters. Format characters include
/// the bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069)
/// that make `invoice\u{202E}fdp.exe` display as "invoiceexe.pdf", and
/// the invisible zero-width ones.
pub fn safe_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.chars()
        .filter(|c| !c.is_control() && c.general_category() != GeneralCategory::Format)
        .take(255)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A `Content-Disposition: attachment` value carrying `file_name` both as
/// a plain ASCII fallback and, per RFC 6266 / 8187, exactly in UTF-8.
pub fn content_disposition(file_name: &str) -> String {
    let fallback: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in file_name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specific_declared_types_win_and_generic_ones_are_sniffed() {
        assert_eq!(
            content_type(Some("application/pdf"), b"anything"),
            "application/pdf"
        );
        assert_eq!(
            content_type(Some("application/octet-stream"), b"%PDF-1.7"),
            "application/pdf"
        );
        assert_eq!(content_type(None, b"\x89PNG\r\n\x1a\n...."), "image/png");
        assert_eq!(content_type(None, b"hello"), "text/plain; charset=utf-8");
        assert_eq!(
            content_type(None, b"\x00\x01\x02"),
            "application/octet-stream"
        );
        assert_eq!(
            content_type(Some("not a type"), b"%PDF-"),
            "application/pdf"
        );
    }

    #[test]
    fn only_inert_types_are_served_as_recorded() {
        for (recorded, served) in [
            ("application/pdf", "application/pdf"),
            ("IMAGE/PNG", "image/png"),
            ("text/plain; charset=utf-8", "text/plain; charset=utf-8"),
            ("text/csv; charset=\"UTF-8\"", "text/csv; charset=utf-8"),
            ("text/plain; charset=utf-7", "text/plain"),
            ("application/pdf; name=x.html", "application/pdf"),
            ("text/html", OCTET_STREAM),
            ("text/html; charset=utf-7", OCTET_STREAM),
            ("image/svg+xml", OCTET_STREAM),
            ("application/xhtml+xml", OCTET_STREAM),
            ("text/xml", OCTET_STREAM),
            ("application/javascript", OCTET_STREAM),
            ("not a type", OCTET_STREAM),
        ] {
            assert_eq!(served_content_type(recorded), served, "{recorded}");
        }
    }

    #[test]
    fn file_names_lose_paths_and_travel_safely_in_headers() {
        assert_eq!(
            safe_file_name("C:\\Users\\ada\\contract.pdf"),
            "contract.pdf"
        );
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(
            safe_file_name("\u{2067}a\u{200B}b\u{FEFF}c\u{200F}\u{2069}.pdf\n"),
            "abc.pdf"
        );
        assert_eq!(
            content_disposition("Vertrag Müller \"final\".pdf"),
            "attachment; filename=\"Vertrag M_ller _final_.pdf\"; filename*=UTF-8''Vertrag%20M%C3%BCller%20%22final%22.pdf"
        );
    }
}
