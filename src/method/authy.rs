//! The Authy client as the [`Method`] of [`FactorKind::Authy`]: a phone
//! registered with Authy gets codes by text, call or the app, and OneTouch
//! pushes.

use std::time::SystemTime;

use async_trait::async_trait;

use super::{
    Ability, Channel, CodeSent, EnrollmentRequest, Method, ProviderError, PushRequest, PushState,
};
use crate::authy::{
    self, ApprovalUuid, AuthyError, AuthyId, Client, NewApprovalRequest, NewUser, PhoneNumber,
    SendOptions, Token,
};
use crate::store::{Factor, FactorKind, UserId};

/// Everything an Authy ID can do.
const ABILITIES: &[Ability] = &[
    Ability::Push,
    Ability::CheckCode,
    Ability::SendCode(Channel::Sms),
    Ability::SendCode(Channel::Call),
    Ability::EnrollPhone,
];

/// The Authy ID a factor references.
fn authy_id(factor: &Factor) -> Result<AuthyId, ProviderError> {
    factor
        .provider_ref
        .parse()
        .map_err(|_| ProviderError::InvalidInput("the stored Authy ID is not a number".into()))
}

impl From<AuthyError> for ProviderError {
    fn from(error: AuthyError) -> Self {
        if error.is_token_rejected() || error.is_verification_code_rejected() {
            return Self::CodeRejected;
        }
        if error.is_not_found() {
            return Self::UnknownUser;
        }
        if error.is_rate_limited() {
            // Authy's 429 carries no Retry-After.
            return Self::RateLimited { retry_after: None };
        }
        match &error {
            AuthyError::InvalidInput(input) => Self::InvalidInput(input.to_string()),
            AuthyError::Api {
                code: Some(code), ..
            } if code == authy::codes::USER_INVALID => {
                Self::InvalidInput("the e-mail address or phone number is not valid".into())
            }
            AuthyError::Api {
                code: Some(code), ..
            } if code == authy::codes::PHONE_NUMBER_INVALID => {
                Self::InvalidInput("the phone number is not valid".into())
            }
            AuthyError::Api {
                code: Some(code), ..
            } if code == authy::codes::ONETOUCH_UNREGISTERED_USER
                || code == authy::codes::ONETOUCH_DEVICE_NOT_FOUND =>
            {
                Self::NotPossible("the user has no Authy app".into())
            }
            AuthyError::Api {
                code: Some(code), ..
            } if code == authy::codes::SMS_TO_LANDLINE
                || code == authy::codes::PHONE_NOT_PROVISIONED =>
            {
                Self::NotPossible("this phone number cannot receive that".into())
            }
            _ => Self::Unavailable(Box::new(error)),
        }
    }
}

#[async_trait]
impl Method for Client {
    fn kind(&self) -> FactorKind {
        FactorKind::Authy
    }

    fn abilities(&self) -> &[Ability] {
        ABILITIES
    }

    async fn enroll_phone(
        &self,
        user: &UserId,
        request: &EnrollmentRequest,
        now: SystemTime,
    ) -> Result<Factor, ProviderError> {
        let phone = PhoneNumber::new(request.country_code, &request.phone_number)
            .map_err(|e| ProviderError::InvalidInput(e.to_string()))?;
        let new = NewUser::new(&request.email, phone).send_install_link_via_sms(false);
        let registered = self.users().register(&new).await?;
        Ok(Factor::authy(
            user.clone(),
            registered.id.to_string(),
            Some(request.masked_phone()),
            now,
        ))
    }

    async fn send_code(
        &self,
        factor: &Factor,
        channel: Channel,
        force: bool,
    ) -> Result<CodeSent, ProviderError> {
        let id = authy_id(factor)?;
        let options = SendOptions::new().force(force);
        let sent = match channel {
            Channel::Sms => self.tokens().sms(id, &options).await?,
            Channel::Call => self.tokens().call(id, &options).await?,
            _ => return Err(super::cannot("send a code that way")),
        };
        Ok(CodeSent {
            ignored: sent.ignored,
        })
    }

    async fn check_code(&self, factor: &Factor, code: &str) -> Result<(), ProviderError> {
        let id = authy_id(factor)?;
        // A code of the wrong shape can never be right: the same answer as a
        // wrong code, without a call.
        let token = Token::parse(code).map_err(|_| ProviderError::CodeRejected)?;
        self.tokens().verify(id, &token, None).await?;
        Ok(())
    }

    async fn can_push(&self, factor: &Factor) -> Result<bool, ProviderError> {
        // A OneTouch push reaches only a user who installed the app.
        Ok(self.users().status(authy_id(factor)?).await?.registered)
    }

    async fn start_push(
        &self,
        factor: &Factor,
        request: &PushRequest,
    ) -> Result<String, ProviderError> {
        let id = authy_id(factor)?;
        let mut push = NewApprovalRequest::new(&request.message)
            .seconds_to_expire(request.ttl.as_secs().max(1));
        for (key, value) in &request.details {
            push = push.detail(key, value);
        }
        for (key, value) in &request.hidden_details {
            push = push.hidden_detail(key, value);
        }
        let uuid = self.onetouch().create(id, &push).await?;
        Ok(uuid.as_str().to_owned())
    }

    async fn push_state(
        &self,
        _factor: &Factor,
        request_id: &str,
    ) -> Result<PushState, ProviderError> {
        let uuid = ApprovalUuid::parse(request_id)
            .map_err(|e| ProviderError::InvalidInput(e.to_string()))?;
        let request = self.onetouch().get(&uuid).await?;
        Ok(PushState {
            status: request.status,
            provider_user_id: request.authy_id.map(|id| id.to_string()),
        })
    }

    async fn forget(&self, factor: &Factor) -> Result<(), ProviderError> {
        self.users().remove(authy_id(factor)?).await?;
        Ok(())
    }
}
