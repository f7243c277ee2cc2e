//! Connects the web view to the session manager. (The web view itself lands
//! separately; until then the server runs without it.)

use std::sync::Arc;

use crate::cli::ServeArgs;
use crate::mcp::WebLinks;
use crate::session::SessionManager;

pub async fn start(_args: &ServeArgs, _manager: &Arc<SessionManager>) -> Option<Arc<dyn WebLinks>> {
    None
}
