import Hummingbird

/// `/api/admin/*` (admin): reload the configuration, and the last reloads' outcomes.
struct AdminRoutes: Sendable {
    let reloader: ConfigurationReloader

    func register(on api: RouterGroup<VigilRequestContext>) {
        api.post("admin/reload") { _, context in
            let admin = try AuthRoutes.signedIn(context)
            let outcome = await self.reloader.reload(trigger: .api(user: admin.name))
            guard outcome.success else {
                // Nothing changed; the detail is the loader's or the refusing participant's own words.
                throw APIError(.unprocessableContent, "invalid_configuration", outcome.error ?? "the configuration was not reloaded")
            }
            return try JSONResponse.make(outcome)
        }
        api.get("admin/reloads") { _, _ in
            try JSONResponse.make(await self.reloader.history)
        }
    }
}
