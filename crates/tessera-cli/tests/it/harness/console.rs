//! The console over plain HTTP, as a browser without JavaScript uses it: a
//! session that keeps cookies and follows nothing, and readers for the
//! pages it gets.

use super::TestApp;
use std::collections::BTreeMap;

/// A console session: its cookies (the session and the sign-in and apply
/// forms' double-submit cookies), any extra headers it sends, and, once
/// signed in with [`ConsoleSession::signed_in`], the session's CSRF token.
pub struct ConsoleSession<'a> {
    app: &'a TestApp,
    pub cookies: BTreeMap<String, String>,
    pub extra_headers: Vec<(&'static str, &'static str)>,
    csrf: Option<String>,
}

impl<'a> ConsoleSession<'a> {
    /// A visitor who has not signed in.
    pub fn new(app: &'a TestApp) -> Self {
        ConsoleSession {
            app,
            cookies: BTreeMap::new(),
            extra_headers: Vec::new(),
            csrf: None,
        }
    }

    /// Signs `username` in, asserts the sign-in lands on the home page, and
    /// keeps the session's CSRF token read from it.
    pub async fn signed_in(app: &'a TestApp, username: &str, password: &str) -> Self {
        let mut session = ConsoleSession::new(app);
        let signed_in = session.sign_in(username, password).await;
        assert_eq!(signed_in.status(), 303, "{username} could not sign in");
        assert_eq!(signed_in.headers()["location"], "/");
        let (_, csrf) = session.form_token("/").await;
        session.csrf = Some(csrf);
        session
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, response: &reqwest::Response) {
        for set_cookie in response.headers().get_all("set-cookie") {
            let text = set_cookie.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> reqwest::Response {
        let mut request = self
            .app
            .http
            .get(self.app.url(path))
            .header("cookie", self.cookie_header());
        for (name, value) in &self.extra_headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        self.remember(&response);
        response
    }

    /// Posts `form` as it is, without adding a CSRF token.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self
            .app
            .http
            .post(self.app.url(path))
            .header("cookie", self.cookie_header())
            .form(form);
        for (name, value) in &self.extra_headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        self.remember(&response);
        response
    }

    /// A page's status and body.
    pub async fn page(&mut self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Loads a page and returns its body and the value of its CSRF field.
    pub async fn form_token(&mut self, path: &str) -> (String, String) {
        let page = self.get(path).await.text().await.unwrap();
        let token =
            hidden_csrf(&page).unwrap_or_else(|| panic!("no csrf field on {path}:\n{page}"));
        (page, token)
    }

    /// Posts the sign-in form with the token of the sign-in page.
    pub async fn sign_in(&mut self, username: &str, password: &str) -> reqwest::Response {
        let (_, token) = self.form_token("/login").await;
        self.post(
            "/login",
            &[
                ("username", username),
                ("password", password),
                ("csrf", &token),
            ],
        )
        .await
    }

    /// Loads `form_page`, takes its CSRF token and posts `form` with it to
    /// `action`.
    pub async fn post_from_page(
        &mut self,
        form_page: &str,
        action: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let (_, token) = self.form_token(form_page).await;
        let mut fields = form.to_vec();
        fields.push(("csrf", &token));
        self.post(action, &fields).await
    }

    /// The token this session was signed in with.
    pub fn csrf(&self) -> &str {
        self.csrf
            .as_deref()
            .expect("a session made with ConsoleSession::signed_in")
    }

    /// Posts a form with the token this session was signed in with.
    pub async fn post_with_csrf(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let csrf = self.csrf().to_owned();
        let mut form = fields.to_vec();
        form.push(("csrf", &csrf));
        self.post(path, &form).await
    }

    /// Posts a form (with the session's token) that must succeed, and
    /// returns where it redirects.
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> String {
        let response = self.post_with_csrf(path, fields).await;
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        assert_eq!(status, 303, "POST {path} {fields:?} was refused:\n{body}");
        location.unwrap()
    }

    /// Posts a form (with the session's token) that must be refused with
    /// `status`; returns the page.
    pub async fn refused(&mut self, path: &str, fields: &[(&str, &str)], status: u16) -> String {
        let response = self.post_with_csrf(path, fields).await;
        let got = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_eq!(got, status, "POST {path} {fields:?}:\n{body}");
        body
    }

    /// Whether the session still lets its holder in.
    pub async fn is_signed_in(&mut self) -> bool {
        let response = self.get("/").await;
        match response.status().as_u16() {
            200 => true,
            303 => {
                assert_eq!(response.headers()["location"], "/login");
                false
            }
            other => panic!("GET / answered {other}"),
        }
    }
}

/// The value of the page's hidden `csrf` field.
fn hidden_csrf(page: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_owned())
}

/// The text inside the element with `id` (up to its first tag).
pub fn element_text(page: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in:\n{page}"))
        + marker.len();
    let end = page[start..].find('<').unwrap() + start;
    page[start..end].to_owned()
}

/// Whether the checkbox or radio with this id is ticked on the page.
pub fn is_checked(page: &str, id: &str) -> bool {
    let marker = format!("id=\"{id}\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} on the page"));
    let tag_start = page[..start].rfind('<').unwrap();
    let tag_end = start + page[start..].find('>').unwrap();
    page[tag_start..tag_end].contains(" checked")
}

/// The text between `start` and the next `end`, for every occurrence.
pub fn all_between<'p>(page: &'p str, start: &str, end: &str) -> Vec<&'p str> {
    page.split(start)
        .skip(1)
        .filter_map(|rest| rest.split(end).next())
        .collect()
}

/// The audit log page's rows: entry ids, actors and actions, top to bottom.
pub fn rows(page: &str) -> Vec<(String, String, String)> {
    let ids = all_between(page, "<tr id=\"aud_", "\"");
    let actors = all_between(page, "<span class=\"actor\">", "<");
    let actions = all_between(page, "<code class=\"action nowrap\">", "<");
    assert_eq!(ids.len(), actors.len(), "{page}");
    assert_eq!(ids.len(), actions.len(), "{page}");
    ids.into_iter()
        .zip(actors)
        .zip(actions)
        .map(|((id, actor), action)| (format!("aud_{id}"), actor.to_owned(), action.to_owned()))
        .collect()
}

/// The audit log page's "Older entries" link, when it has one.
pub fn older_entries_link(page: &str) -> Option<String> {
    link_with_id(page, "older-entries")
}

/// The audit log page's "Newer entries" link, when it has one.
pub fn newer_entries_link(page: &str) -> Option<String> {
    link_with_id(page, "newer-entries")
}

/// The address of the link with this id, when the page has one.
fn link_with_id(page: &str, id: &str) -> Option<String> {
    all_between(page, &format!("id=\"{id}\" href=\""), "\"")
        .first()
        .map(|href| href.replace("&amp;", "&"))
}
