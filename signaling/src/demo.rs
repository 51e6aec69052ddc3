//! `hoinghi demo-data`: a demonstration province for development and tests — Tỉnh Điện
//! Biên with its departments and communes, and 78 room terminals spread over them.
//! Seeds only an empty registry, so it can never mix with real data.

use crate::credentials::{credential_hash, new_credential};
use crate::store::{Endpoint, NewEndpoint, NewUnit, Store, StoreError, Unit};

/// How many room terminals the demonstration province has.
pub const DEMO_ENDPOINTS: usize = 78;

const DEPARTMENTS: [&str; 13] = [
    "Sở Nội vụ",
    "Sở Tài chính",
    "Sở Tư pháp",
    "Sở Công Thương",
    "Sở Xây dựng",
    "Sở Nông nghiệp và Môi trường",
    "Sở Giáo dục và Đào tạo",
    "Sở Y tế",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Khoa học và Công nghệ",
    "Sở Dân tộc và Tôn giáo",
    "Sở Ngoại vụ",
    "Thanh tra tỉnh",
];

const WARDS: [&str; 3] = ["Điện Biên Phủ", "Mường Thanh", "Mường Lay"];

const COMMUNES: [&str; 57] = [
    "Mường Phăng",
    "Nà Tấu",
    "Nà Nhạn",
    "Mường Pồn",
    "Thanh Nưa",
    "Thanh An",
    "Thanh Yên",
    "Sam Mứn",
    "Núa Ngam",
    "Mường Nhà",
    "Na Son",
    "Xa Dung",
    "Pú Nhi",
    "Mường Luân",
    "Tìa Dình",
    "Phình Giàng",
    "Mường Ảng",
    "Búng Lao",
    "Ẳng Tở",
    "Ẳng Nưa",
    "Ẳng Cang",
    "Nà Tòng",
    "Tuần Giáo",
    "Quài Tở",
    "Chiềng Sinh",
    "Mường Mùn",
    "Pú Nhung",
    "Tủa Chùa",
    "Sín Chải",
    "Sính Phình",
    "Tủa Thàng",
    "Xá Nhè",
    "Mường Chà",
    "Na Sang",
    "Sa Lông",
    "Mường Tùng",
    "Pa Ham",
    "Nậm Nèn",
    "Mường Nhé",
    "Sín Thầu",
    "Mường Toong",
    "Nậm Kè",
    "Quảng Lâm",
    "Nà Hỳ",
    "Nà Bủng",
    "Chà Tở",
    "Nậm Pồ",
    "Si Pa Phìn",
    "Phìn Hồ",
    "Pa Tần",
    "Mường Lạn",
    "Keo Lôm",
    "Luân Giới",
    "Háng Lìa",
    "Phì Nhừ",
    "Noong Hẹt",
    "Thanh Chăn",
];

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The registry is not empty.
    #[error(
        "the registry already holds organisation units; demo data is seeded only into an \
         empty database (use a new --data-dir or --database-url)"
    )]
    NotEmpty,
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A terminal the seed created, with its credential (shown once).
pub struct Seeded {
    pub endpoint: Endpoint,
    pub unit: String,
    pub credential: String,
}

/// Seed the demonstration province into an empty registry.
pub async fn seed(store: &Store) -> Result<Vec<Seeded>, DemoError> {
    if !store.units().await?.is_empty() {
        return Err(DemoError::NotEmpty);
    }
    let mut seeded = Vec::with_capacity(DEMO_ENDPOINTS);
    let province = unit(store, None, "Tỉnh Điện Biên", "Tỉnh").await?;
    for room in [
        "Hội trường UBND tỉnh",
        "Phòng họp Tỉnh ủy",
        "Phòng họp HĐND tỉnh",
    ] {
        seeded.push(terminal(store, &province, room, "Trung tâm hành chính tỉnh", None).await?);
    }
    for name in DEPARTMENTS {
        let dept = unit(store, Some(&province), name, "Sở").await?;
        seeded.push(terminal(store, &dept, &format!("Phòng họp {name}"), name, None).await?);
        if name == "Sở Y tế" {
            for (below, level) in [
                ("Bệnh viện Đa khoa tỉnh", "Đơn vị sự nghiệp"),
                ("Trung tâm Kiểm soát bệnh tật tỉnh", "Đơn vị sự nghiệp"),
            ] {
                let u = unit(store, Some(&dept), below, level).await?;
                seeded.push(terminal(store, &u, &format!("Phòng họp {below}"), below, None).await?);
            }
        }
    }
    let local = WARDS
        .iter()
        .map(|n| (format!("Phường {n}"), "Phường"))
        .chain(COMMUNES.iter().map(|n| (format!("Xã {n}"), "Xã")));
    for (i, (name, level)) in local.enumerate() {
        let u = unit(store, Some(&province), &name, level).await?;
        // Remote communes sit on weak links: cap every third one.
        let cap = (level == "Xã" && i % 3 == 0).then_some(768);
        let room = format!("Điểm cầu UBND {name}");
        seeded.push(terminal(store, &u, &room, &format!("Trụ sở UBND {name}"), cap).await?);
    }
    debug_assert_eq!(seeded.len(), DEMO_ENDPOINTS);
    Ok(seeded)
}

async fn unit(
    store: &Store,
    parent: Option<&Unit>,
    name: &str,
    level: &str,
) -> Result<Unit, StoreError> {
    store
        .create_unit(&NewUnit {
            parent_id: parent.map(|p| p.id.clone()),
            name: name.into(),
            level: level.into(),
        })
        .await
}

async fn terminal(
    store: &Store,
    unit: &Unit,
    name: &str,
    location: &str,
    bitrate_cap_kbps: Option<i64>,
) -> Result<Seeded, StoreError> {
    let credential = new_credential();
    let endpoint = store
        .create_endpoint(
            &NewEndpoint {
                unit_id: unit.id.clone(),
                name: name.into(),
                location: location.into(),
                bitrate_cap_kbps,
            },
            &credential_hash(&credential),
        )
        .await?;
    Ok(Seeded {
        endpoint,
        unit: unit.name.clone(),
        credential,
    })
}

/// The seeded terminals as tab-separated lines: id, unit, name, credential.
pub fn credentials_table(seeded: &[Seeded]) -> String {
    let mut out = String::from("endpoint_id\tunit\tname\tcredential\n");
    for s in seeded {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            s.endpoint.id, s.unit, s.endpoint.name, s.credential
        ));
    }
    out
}
