/// A message a stream client sends: `{"type":"auth","token":…}`, `{"type":"subscribe","topics":[…]}`,
/// `{"type":"unsubscribe","topics":[…]}`.
struct StreamRequest: Decodable {
    var type: String
    var token: String?
    var topics: [String]?
}
