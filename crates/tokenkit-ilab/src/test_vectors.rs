//! Known-answer material copied verbatim from the ilab seed documents.

/// The appid of the seed's examples.
pub(crate) const APPID: &str = "1681600222748241929";
/// The secret PROTOCOLS.md gives for the known-answer vectors.
pub(crate) const SECRET: &str = "123456";
/// The ticket of the §1.1 example.
pub(crate) const SEED_TICKET: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJST05DT08iLCJleHAiOjE3MTM2OTIwNjUsInVzZXJJZCI6IjE3MDE4MDgxNjk3OTMxMzg2OTAifQ.FfUkZ_Z-Acwird66oHfg2PnWqhlY9g39i1Y9cOidgBI";
/// The `refresh_token` of the §1.1 example response.
pub(crate) const SEED_REFRESH_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtc2ciOiLosIPnlKjmiJDlip_vvIzov5Tlm57miYDpnIDmlbDmja4iLCJjb2RlIjowLCJjcmVhdGVfdGltZSI6MTcxMTEwMzIyOTEyMiwiY3JlYXRlX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjIgMTg6Mjc6MDkiLCJ1c2VyX25hbWUiOiIxNzAxODA4MTY5NzkzMTM4NjkwIiwiYXV0aG9yaXRpZXMiOlsiQURNSU4iXSwiY2xpZW50X2lkIjoiMTY4MTYwMDIyMjc0ODI0MTkyOSIsImRpcyI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJzY29wZSI6WyJjYWxsYmFjazpzY29yZSJdLCJhdGkiOiJhNTdhYjk5Yy02ZWQzLTRiOTMtYThhMy0wNzc0NjQzNGZmZTgiLCJleHBpcmVzX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjMgMTg6Mjc6MDgiLCJ1biI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJleHAiOjE3MTM2OTUyMjksImp0aSI6ImE3YTUwYzdmLTMxN2MtNGUzYy1iNTIwLWViZDhiMDI2ZmVjZiIsImV4cGlyZXNfdGltZSI6MTcxMTE4OTYyODEyMn0.CCIavimTmuyBcy6LxP9GHJHZSfurR9ILjhg-N2b9e48";
/// The §1.1 example response, as the seed prints it.
pub(crate) const SEED_EXCHANGE_BODY: &str = r#"{
  "code": 0,
  "msg": "调用成功，返回所需数据",
  "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtc2ciOiLosIPnlKjmiJDlip_vvIzov5Tlm57miYDpnIDmlbDmja4iLCJjb2RlIjowLCJjcmVhdGVfdGltZSI6MTcxMTEwMzIyOTEyMiwiY3JlYXRlX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjIgMTg6Mjc6MDkiLCJ1c2VyX25hbWUiOiIxNzAxODA4MTY5NzkzMTM4NjkwIiwiYXV0aG9yaXRpZXMiOlsiQURNSU4iXSwiY2xpZW50X2lkIjoiMTY4MTYwMDIyMjc0ODI0MTkyOSIsImRpcyI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJzY29wZSI6WyJjYWxsYmFjazpzY29yZSJdLCJleHBpcmVzX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjMgMTg6Mjc6MDgiLCJ1biI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJleHAiOjE3MTExODk2MjksImp0aSI6ImE1N2FiOTljLTZlZDMtNGI5My1hOGEzLTA3NzQ2NDM0ZmZlOCIsImV4cGlyZXNfdGltZSI6MTcxMTE4OTYyODEyMn0.rnRo5Z0D4R2p6jd57Ld29hAOegDtddKA4Z4sp4C7kD8",
  "token_type": "bearer",
  "refresh_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtc2ciOiLosIPnlKjmiJDlip_vvIzov5Tlm57miYDpnIDmlbDmja4iLCJjb2RlIjowLCJjcmVhdGVfdGltZSI6MTcxMTEwMzIyOTEyMiwiY3JlYXRlX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjIgMTg6Mjc6MDkiLCJ1c2VyX25hbWUiOiIxNzAxODA4MTY5NzkzMTM4NjkwIiwiYXV0aG9yaXRpZXMiOlsiQURNSU4iXSwiY2xpZW50X2lkIjoiMTY4MTYwMDIyMjc0ODI0MTkyOSIsImRpcyI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJzY29wZSI6WyJjYWxsYmFjazpzY29yZSJdLCJhdGkiOiJhNTdhYjk5Yy02ZWQzLTRiOTMtYThhMy0wNzc0NjQzNGZmZTgiLCJleHBpcmVzX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjMgMTg6Mjc6MDgiLCJ1biI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJleHAiOjE3MTM2OTUyMjksImp0aSI6ImE3YTUwYzdmLTMxN2MtNGUzYy1iNTIwLWViZDhiMDI2ZmVjZiIsImV4cGlyZXNfdGltZSI6MTcxMTE4OTYyODEyMn0.CCIavimTmuyBcy6LxP9GHJHZSfurR9ILjhg-N2b9e48",
  "expires_in": 86399,
  "scope": "callback:score",
  "un": "1701808169793138690",
  "dis": "用户姓名",
  "create_time": "1711103229122",
  "create_time_display": "2024-03-22 18:27:09",
  "expires_time": "1711189628122",
  "expires_time_display": "2024-03-23 18:27:08",
  "jti": "a57ab99c-6ed3-4b93-a8a3-07746434ffe8"
}"#;
/// The §1.2 example response, as the seed prints it.
pub(crate) const SEED_REFRESH_BODY: &str = r#"{
  "code": 0,
  "msg": "调用成功，返回所需数据",
  "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtc2ciOiLosIPnlKjmiJDlip_vvIzov5Tlm57miYDpnIDmlbDmja4iLCJjb2RlIjowLCJjcmVhdGVfdGltZSI6MTcxMTExMTMxMzk0MSwiY3JlYXRlX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjIgMjA6NDE6NTMiLCJ1c2VyX25hbWUiOiIxNzAxODA4MTY5NzkzMTM4NjkwIiwiYXV0aG9yaXRpZXMiOlsiQURNSU4iXSwiY2xpZW50X2lkIjoiMTY4MTYwMDIyMjc0ODI0MTkyOSIsImRpcyI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJzY29wZSI6WyJjYWxsYmFjazpzY29yZSJdLCJleHBpcmVzX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjMgMjA6NDE6NTIiLCJ1biI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJleHAiOjE3MTExOTc3MTMsImp0aSI6IjhhN2VlOGQ4LTdhMTUtNDU1OS1iNjc4LTI1NWFhYWNjMzI5MCIsImV4cGlyZXNfdGltZSI6MTcxMTE5NzcxMjk0MX0.zJaOYnkf9-dr1KVk7NwnA2Tr3Tq3F6vmR-i6zqY2yxg",
  "token_type": "bearer",
  "refresh_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtc2ciOiLosIPnlKjmiJDlip_vvIzov5Tlm57miYDpnIDmlbDmja4iLCJjb2RlIjowLCJjcmVhdGVfdGltZSI6MTcxMTExMTMxMzk0MSwiY3JlYXRlX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjIgMjA6NDE6NTMiLCJ1c2VyX25hbWUiOiIxNzAxODA4MTY5NzkzMTM4NjkwIiwiYXV0aG9yaXRpZXMiOlsiQURNSU4iXSwiY2xpZW50X2lkIjoiMTY4MTYwMDIyMjc0ODI0MTkyOSIsImRpcyI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJzY29wZSI6WyJjYWxsYmFjazpzY29yZSJdLCJhdGkiOiI4YTdlZThkOC03YTE1LTQ1NTktYjY3OC0yNTVhYWFjYzMyOTAiLCJleHBpcmVzX3RpbWVfZGlzcGxheSI6IjIwMjQtMDMtMjMgMjA6NDE6NTIiLCJ1biI6IjE3MDE4MDgxNjk3OTMxMzg2OTAiLCJleHAiOjE3MTM2OTUyMjksImp0aSI6ImE3YTUwYzdmLTMxN2MtNGUzYy1iNTIwLWViZDhiMDI2ZmVjZiIsImV4cGlyZXNfdGltZSI6MTcxMTE5NzcxMjk0MX0.rEMrYX8b3krT1v_ADEyWB3MJC9nDLULniEK-6WU0s5w",
  "expires_in": 86399,
  "scope": "callback:score",
  "un": "1701808169793138690",
  "dis": "1701808169793138690",
  "create_time": "1711111313941",
  "create_time_display": "2024-03-22 20:41:53",
  "expires_time": "1711197712941",
  "expires_time_display": "2024-03-23 20:41:52",
  "jti": "8a7ee8d8-7a15-4559-b678-255aaacc3290"
}"#;
