import Foundation
import Hummingbird
import VigilAPI
import VigilMetrics

/// An API error, rendered as `{"error": "...", "detail": "..."}` with its status code.
public struct APIError: HTTPResponseError {
    public var status: HTTPResponse.Status
    public var error: String
    public var detail: String
    /// Extra headers, e.g. `Retry-After` on 429 and 503.
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ error: String, _ detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONResponse.make(["error": self.error, "detail": self.detail], status: self.status)
        response.headers.append(contentsOf: self.headers)
        return response
    }
}

/// JSON bodies with the API's conventions.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try APICoding.encoder().encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
