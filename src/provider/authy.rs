//! The Authy client as a [`SecondFactorProvider`].

use async_trait::async_trait;

use super::{
    Channel, CodeSent, Devices, Enrolled, EnrollmentRequest, ProviderError, PushRequest, PushState,
    SecondFactorProvider,
};
use crate::authy::{
    self, ApprovalUuid, AuthyError, AuthyId, Client, NewApprovalRequest, NewUser, PhoneNumber,
    SendOptions, Token,
};

fn authy_id(id: &str) -> Result<AuthyId, ProviderError> {
    id.parse()
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
impl SecondFactorProvider for Client {
    async fn enroll(&self, request: &EnrollmentRequest) -> Result<Enrolled, ProviderError> {
        let phone = PhoneNumber::new(request.country_code, &request.phone_number)
            .map_err(|e| ProviderError::InvalidInput(e.to_string()))?;
        let user = NewUser::new(&request.email, phone).send_install_link_via_sms(false);
        let registered = self.users().register(&user).await?;
        Ok(Enrolled {
            provider_user_id: registered.id.to_string(),
        })
    }

    async fn send_code(
        &self,
        provider_user_id: &str,
        channel: Channel,
        force: bool,
    ) -> Result<CodeSent, ProviderError> {
        let id = authy_id(provider_user_id)?;
        let options = SendOptions::new().force(force);
        let sent = match channel {
            Channel::Sms => self.tokens().sms(id, &options).await?,
            Channel::Call => self.tokens().call(id, &options).await?,
        };
        Ok(CodeSent {
            ignored: sent.ignored,
        })
    }

    async fn verify_code(&self, provider_user_id: &str, code: &str) -> Result<(), ProviderError> {
        let id = authy_id(provider_user_id)?;
        // A code of the wrong shape can never be right: the same answer as a
        // wrong code, without a call.
        let token = Token::parse(code).map_err(|_| ProviderError::CodeRejected)?;
        self.tokens().verify(id, &token, None).await?;
        Ok(())
    }

    async fn start_push(
        &self,
        provider_user_id: &str,
        request: &PushRequest,
    ) -> Result<String, ProviderError> {
        let id = authy_id(provider_user_id)?;
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

    async fn push_state(&self, request_id: &str) -> Result<PushState, ProviderError> {
        let uuid = ApprovalUuid::parse(request_id)
            .map_err(|e| ProviderError::InvalidInput(e.to_string()))?;
        let request = self.onetouch().get(&uuid).await?;
        Ok(PushState {
            status: request.status,
            provider_user_id: request.authy_id.map(|id| id.to_string()),
        })
    }

    async fn devices(&self, provider_user_id: &str) -> Result<Devices, ProviderError> {
        let status = self.users().status(authy_id(provider_user_id)?).await?;
        Ok(Devices {
            has_app: status.registered,
        })
    }

    async fn remove(&self, provider_user_id: &str) -> Result<(), ProviderError> {
        self.users().remove(authy_id(provider_user_id)?).await?;
        Ok(())
    }
}
