import Foundation
import JSONValues
import Testing

@Suite("JSONValue")
struct JSONValueTests {
    @Test("a document round-trips: integers stay integers, keys come out sorted, slashes unescaped")
    func roundTrip() throws {
        let text = #"{"b":[1,2.5,true,null,"a/b"],"a":{"port":8080,"big":9007199254740993}}"#
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(value["a"]?["port"] == .integer(8080))
        #expect(value["a"]?["big"]?.integerValue == 9_007_199_254_740_993)
        #expect(value["b"]?.arrayValue?[1] == .number(2.5))
        #expect(value.description == #"{"a":{"big":9007199254740993,"port":8080},"b":[1,2.5,true,null,"a/b"]}"#)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(value.encoded())) == value)
    }

    @Test("literals and accessors")
    func literals() {
        let value: JSONValue = ["type": "bridge", "mtu": 1500, "ratio": 0.5, "on": true, "none": nil, "list": [1, "x"]]
        #expect(value["type"]?.stringValue == "bridge")
        #expect(value["mtu"]?.integerValue == 1500)
        #expect(JSONValue.number(3.0).integerValue == 3)
        #expect(JSONValue.number(3.5).integerValue == nil)
        #expect(value["on"]?.boolValue == true)
        #expect(value["none"] == .null)
        #expect(value["list"]?.arrayValue?.count == 2)
        #expect(value["missing"] == nil && JSONValue.string("x")["type"] == nil)
        #expect(value.objectValue?.encodedJSON() == value.encoded())
    }

    @Test("a non-finite number encodes as null")
    func nonFinite() {
        #expect(JSONValue.number(.infinity).description == "null")
    }
}
