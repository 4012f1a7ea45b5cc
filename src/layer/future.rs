//! The response future. Exemptions are decided when the request arrives,
//! with nothing read; any other request waits on its session (one boxed
//! future: the session and store reads are async functions whose futures
//! have no name), then is answered here or goes on to the inner service.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{MatchedPath, OriginalUri};
use axum::http::{Request, Response};
use pin_project_lite::pin_project;
use tower::Service;
use tower_sessions::Session;

use super::Config;
use super::answer::{Denied, deny, failure};
use super::decide::{Verdict, check};
use crate::code::Code;
use crate::store::UserId;

type Check = Pin<Box<dyn Future<Output = Verdict> + Send>>;

pin_project! {
    /// The response future of [`RequireSecondFactor`](super::RequireSecondFactor): reads the session,
    /// then either answers or calls the inner service.
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, B>
    where
        S: Service<Request<B>>,
    {
        Checking {
            check: Check,
            config: Arc<Config>,
            inner: Option<S>,
            request: Option<Request<B>>,
        },
        Calling { #[pin] future: S::Future },
        Answered { response: Option<Response<Body>> },
    }
}

impl<S, B> fmt::Debug for ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture")
    }
}

impl<S, B> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<Body>>,
{
    type Output = Result<Response<Body>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Checking {
                    check,
                    config,
                    inner,
                    request,
                } => {
                    let verdict = std::task::ready!(check.as_mut().poll(cx));
                    let request = request.take().expect("polled after completion");
                    match answer(config, request, verdict) {
                        Outcome::Through(request) => {
                            let mut inner = inner.take().expect("polled after completion");
                            let future = inner.call(request);
                            this.state.set(State::Calling { future });
                        }
                        Outcome::Answer(response) => {
                            this.state.set(State::Answered { response: None });
                            return Poll::Ready(Ok(response));
                        }
                    }
                }
                StateProj::Calling { future } => return future.poll(cx),
                StateProj::Answered { response } => {
                    let response = response
                        .take()
                        .expect("ResponseFuture polled after completion");
                    return Poll::Ready(Ok(response));
                }
            }
        }
    }
}

/// What becomes of a request once its session is read.
enum Outcome<B> {
    /// On to the inner service (carrying who passed, when someone did).
    Through(Request<B>),
    /// Answered here.
    Answer(Response<Body>),
}

fn answer<B>(config: &Config, mut request: Request<B>, verdict: Verdict) -> Outcome<B> {
    match verdict {
        Verdict::Pass(verified) => {
            request.extensions_mut().insert(verified);
            Outcome::Through(request)
        }
        Verdict::Pending(user) => {
            let request = match &config.requirement {
                Some(requirement) => match asks(requirement.as_ref(), request, &user) {
                    (false, request) => return Outcome::Through(request),
                    (true, request) => request,
                },
                None => request,
            };
            Outcome::Answer(deny(config, &request, Denied::SecondFactor))
        }
        Verdict::Login => Outcome::Answer(deny(config, &request, Denied::Login)),
        Verdict::SecondFactor => Outcome::Answer(deny(config, &request, Denied::SecondFactor)),
        Verdict::Failure(code) => Outcome::Answer(failure(code)),
    }
}

/// The requirement hook, shown the request as its router routed it (like
/// handlers see it), with the URI the client asked for and the matched
/// route among its extensions. The request is taken apart, not copied.
fn asks<B>(
    requirement: &dyn super::Requirement,
    request: Request<B>,
    user: &UserId,
) -> (bool, Request<B>) {
    let (mut parts, body) = request.into_parts();
    if parts.extensions.get::<OriginalUri>().is_none() {
        parts.extensions.insert(OriginalUri(parts.uri.clone()));
    }
    let asks = requirement.requires_second_factor(&parts, user);
    (asks, Request::from_parts(parts, body))
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    pub(super) fn new(config: Arc<Config>, mut inner: S, request: Request<B>) -> Self {
        let asked = request
            .extensions()
            .get::<OriginalUri>()
            .map_or(request.uri(), |original| &original.0)
            .path();
        // The matched route, whole even inside `Router::nest`: a parameter
        // segment can never make a protected route look like the challenge
        // (`/2fa/account` routed to `/{lang}/account`). Outside axum's
        // routing, or in a fallback, the path asked for.
        let judged = request
            .extensions()
            .get::<MatchedPath>()
            .map_or(asked, MatchedPath::as_str);
        if config.exemptions.admit(judged, asked, request.method()) {
            let future = inner.call(request);
            return Self {
                state: State::Calling { future },
            };
        }
        let Some(session) = request.extensions().get::<Session>().cloned() else {
            tracing::error!(
                "tower-authy: no session; add tower_sessions::SessionManagerLayer outside RequireSecondFactorLayer"
            );
            return Self {
                state: State::Answered {
                    response: Some(failure(Code::SessionMissing)),
                },
            };
        };
        let shared = config.clone();
        Self {
            state: State::Checking {
                check: Box::pin(async move { check(&shared, &session).await }),
                config,
                inner: Some(inner),
                request: Some(request),
            },
        }
    }
}
