//! The agent's config file as a test writes it: listeners, `[agent]` settings and the
//! grant tables, plus the environment the process gets.

/// The sandbox's ilab appid.
pub const ILAB_APPID: &str = "1681600222748241929";

/// The environment every agent gets: the sandbox's demo secrets, each named by an
/// `{ env = … }` source of the tables below.
pub const SECRET_ENV: [(&str, &str); 4] = [
    ("TOKENKIT_AC_PASSWORD", "demo-password"),
    ("TOKENKIT_AC_SECRET_KEY", "demo-secret-key"),
    ("TOKENKIT_ILAB_SECRET", "123456"),
    ("TOKENKIT_BO_DES_KEY", "12345678"),
];

/// What a test asks of the agent's config.
#[derive(Debug, Clone)]
pub struct Setup {
    pub(crate) unix: bool,
    pub(crate) tcp: Option<String>,
    pub(crate) allow_non_loopback: bool,
    pub(crate) bearer: Option<String>,
    settings: Vec<String>,
    tables: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) log: Option<String>,
}

impl Setup {
    /// Listens on `agent.sock` in the test's directory (written relative to the config
    /// file, as a user would).
    pub fn unix() -> Self {
        Self {
            unix: true,
            tcp: None,
            allow_non_loopback: false,
            bearer: None,
            settings: Vec::new(),
            tables: Vec::new(),
            env: Vec::new(),
            log: None,
        }
    }

    /// Listens on TCP only, at `addr` (`127.0.0.1:0`: a free port).
    pub fn tcp_only(addr: &str) -> Self {
        Self {
            unix: false,
            ..Self::unix().tcp(addr)
        }
    }

    /// Listens on TCP too.
    pub fn tcp(mut self, addr: &str) -> Self {
        self.tcp = Some(addr.to_owned());
        self
    }

    /// `listen.allow_non_loopback = true`.
    pub fn allow_non_loopback(mut self) -> Self {
        self.allow_non_loopback = true;
        self
    }

    /// `listen.bearer_file` holding `secret` (the harness sends it on TCP).
    pub fn bearer(mut self, secret: &str) -> Self {
        self.bearer = Some(secret.to_owned());
        self
    }

    /// A line of `[agent]`, e.g. `wait_ms = 2000`.
    pub fn setting(mut self, line: &str) -> Self {
        self.settings.push(line.to_owned());
        self
    }

    /// A grant or ilab table (see [`ac_grant`] and friends).
    pub fn table(mut self, table: String) -> Self {
        self.tables.push(table);
        self
    }

    /// An environment variable of the agent process.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `TOKENKIT_LOG` of the agent process (none by default).
    pub fn log(mut self, filter: &str) -> Self {
        self.log = Some(filter.to_owned());
        self
    }

    /// How many `listening on` lines the agent prints.
    pub(crate) fn listeners(&self) -> usize {
        usize::from(self.unix) + usize::from(self.tcp.is_some())
    }

    /// The config file's text.
    pub fn text(&self) -> String {
        let mut text = String::from("[listen]\n");
        if self.unix {
            text.push_str("unix = \"agent.sock\"\n");
        }
        if let Some(addr) = &self.tcp {
            text.push_str(&format!("tcp = \"{addr}\"\n"));
        }
        if self.allow_non_loopback {
            text.push_str("allow_non_loopback = true\n");
        }
        if self.bearer.is_some() {
            text.push_str("bearer_file = \"bearer\"\n");
        }
        text.push_str("\n[agent]\n");
        for line in &self.settings {
            text.push_str(line);
            text.push('\n');
        }
        for table in &self.tables {
            text.push('\n');
            text.push_str(table);
        }
        text
    }
}

/// An ac grant with the sandbox's password login (password from the environment).
pub fn ac_grant(name: &str, base_url: &str, cluster: &str) -> String {
    format!(
        "[grants.{name}]\nplatform = \"ac\"\nbase_url = \"{base_url}\"\nuser = \"demo\"\n\
         org_id = \"demo-org\"\npassword = {{ env = \"TOKENKIT_AC_PASSWORD\" }}\n\
         cluster = \"{cluster}\"\n"
    )
}

/// An ac grant with the sandbox's access-key login (secret key from the environment).
pub fn ac_key_grant(name: &str, base_url: &str, cluster: &str) -> String {
    format!(
        "[grants.{name}]\nplatform = \"ac\"\nbase_url = \"{base_url}\"\nuser = \"demo\"\n\
         access_key = \"demo-access-key\"\nsecret_key = {{ env = \"TOKENKIT_AC_SECRET_KEY\" }}\n\
         cluster = \"{cluster}\"\n"
    )
}

/// An ac grant (cluster 0) of `user` whose password comes from the variable
/// `password_env`.
pub fn ac_grant_as(name: &str, base_url: &str, user: &str, password_env: &str) -> String {
    ac_grant(name, base_url, "0")
        .replace("TOKENKIT_AC_PASSWORD", password_env)
        .replace("user = \"demo\"", &format!("user = \"{user}\""))
}

/// A bo grant of the sandbox's demo project; its refresh token from `refresh_env`.
pub fn bo_grant(name: &str, base_url: &str, refresh_env: &str) -> String {
    format!(
        "[grants.{name}]\nplatform = \"bo\"\nbase_url = \"{base_url}\"\n\
         owner_id = \"demo-owner\"\ndes_key = {{ env = \"TOKENKIT_BO_DES_KEY\" }}\n\
         refresh_token = {{ env = \"{refresh_env}\" }}\n"
    )
}

/// An ilab experiment of the sandbox's demo app.
pub fn ilab_app(name: &str, base_url: &str) -> String {
    format!(
        "[ilab.{name}]\nbase_url = \"{base_url}\"\nappid = \"{ILAB_APPID}\"\n\
         secret = {{ env = \"TOKENKIT_ILAB_SECRET\" }}\n"
    )
}
