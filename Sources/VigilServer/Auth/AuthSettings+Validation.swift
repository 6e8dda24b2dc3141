extension AuthSettings {
    /// Checks the `auth.*` settings against each other and against the password policy.
    public func validate() throws {
        guard (4...31).contains(self.bcryptCost) else {
            throw ConfigurationError(description: "auth.bcrypt_cost must be in 4...31 (got \(self.bcryptCost))")
        }
        guard self.accessTokenTTL >= .seconds(1) else {
            throw ConfigurationError(description: "auth.access_token_ttl must be at least 1s (got \(self.accessTokenTTL.compactDescription))")
        }
        guard self.refreshTokenTTL >= self.accessTokenTTL else {
            throw ConfigurationError(description: "auth.refresh_token_ttl (\(self.refreshTokenTTL.compactDescription)) must be at least auth.access_token_ttl (\(self.accessTokenTTL.compactDescription))")
        }
        guard self.loginFailureWindow >= .seconds(1) else {
            throw ConfigurationError(description: "auth.login_failure_window must be at least 1s (got \(self.loginFailureWindow.compactDescription))")
        }
        guard self.reloadInterval >= .milliseconds(100) else {
            throw ConfigurationError(description: "auth.reload_interval must be at least 100ms (got \(self.reloadInterval.compactDescription))")
        }
        guard UserName.isValid(self.initialAdminName) else {
            throw ConfigurationError(description: "auth.initial_admin_name: \(UserName.rule)")
        }
        if let password = self.initialAdminPassword, let problem = PasswordPolicy(settings: self).problem(with: password) {
            // Never echo the value: it is a secret.
            throw ConfigurationError(description: "auth.initial_admin_password: \(problem)")
        }
    }
}

/// Settings may be printed or dumped while debugging: the first admin's password must not be.
extension AuthSettings: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "AuthSettings(bcryptCost: \(self.bcryptCost), accessTokenTTL: \(self.accessTokenTTL), refreshTokenTTL: \(self.refreshTokenTTL), initialAdminName: \(self.initialAdminName), initialAdminPassword: \(self.initialAdminPassword == nil ? "nil" : "<redacted>"), …)"
    }

    public var debugDescription: String { self.description }

    public var customMirror: Mirror {
        Mirror(self, children: ["description": self.description])
    }
}
