//! The response future: the decision first, then the inner service.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{Request, Response};
use pin_project_lite::pin_project;
use tower::Service;

use super::Config;
use super::decide::{Decision, Head, decide};

type Check = Pin<Box<dyn Future<Output = Decision> + Send>>;

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
        Checking { check: Check, inner: Option<S>, request: Option<Request<B>> },
        Calling { #[pin] future: S::Future },
        Done,
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
                    inner,
                    request,
                } => {
                    let decision = std::task::ready!(check.as_mut().poll(cx));
                    match decision {
                        Decision::Pass(verified) => {
                            let mut inner = inner.take().expect("polled after completion");
                            let mut request = request.take().expect("polled after completion");
                            if let Some(verified) = verified {
                                request.extensions_mut().insert(verified);
                            }
                            let future = inner.call(request);
                            this.state.set(State::Calling { future });
                        }
                        Decision::Deny(response) => {
                            this.state.set(State::Done);
                            return Poll::Ready(Ok(response));
                        }
                    }
                }
                StateProj::Calling { future } => return future.poll(cx),
                StateProj::Done => panic!("ResponseFuture polled after completion"),
            }
        }
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    pub(super) fn new(config: Arc<Config>, inner: S, request: Request<B>) -> Self {
        let head = Head::of(&request, config.requirement.is_some());
        Self {
            state: State::Checking {
                check: Box::pin(async move { decide(&config, head).await }),
                inner: Some(inner),
                request: Some(request),
            },
        }
    }
}
