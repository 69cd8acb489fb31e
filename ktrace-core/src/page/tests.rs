use super::*;
use ktrace_testing::page::PageBuilder;

fn events(page: &[u8]) -> Vec<PageItem<'_>> {
    Page::parse(page, &PageLayout::LE64, 0).unwrap().items().collect::<Result<Vec<_>>>().unwrap()
}

#[test]
fn all_record_kinds() {
    let big = vec![7u8; 200];
    let page = PageBuilder::new(1000, 4096)
        .event(5, &[1, 0, 2, 3])
        .extend(1 << 30)
        .event(1, &[2, 0])
        .discard(10, 12)
        .event(0, &big)
        .absolute(0x7_0000_0001)
        .event(3, &[3, 0, 0, 0, 9])
        .finish(0, None);
    let ev = events(&page);
    let ts: Vec<u64> = ev.iter().map(|e| e.timestamp_ns()).collect();
    let base = 1005 + (1 << 30) + 1;
    assert_eq!(ts, vec![1005, base, base + 10, 0x7_0000_0004]);
    let PageItem::Event(e) = ev[2] else { panic!() };
    assert_eq!(&e.data[..200], &big[..]);
    let PageItem::Event(e) = ev[3] else { panic!() };
    assert_eq!(e.id(Endian::Little).unwrap(), 3);
    assert_eq!(e.data.len(), 8);
}

#[test]
fn missed_events_become_lost() {
    let page = PageBuilder::new(50, 4096).event(1, &[1, 0]).finish(RB_MISSED_EVENTS | RB_MISSED_STORED, Some(42));
    let ev = events(&page);
    assert_eq!(
        ev[0],
        PageItem::Lost(Lost { source: crate::LostSource::FtraceRing, cpu: 0, count: Some(42), timestamp_ns: 50 })
    );
    let page = PageBuilder::new(50, 4096).event(1, &[1, 0]).finish(RB_MISSED_EVENTS, None);
    assert_eq!(
        events(&page)[0],
        PageItem::Lost(Lost { source: crate::LostSource::FtraceRing, cpu: 0, count: None, timestamp_ns: 50 })
    );
}

#[test]
fn empty_and_null_padding() {
    let page = PageBuilder::new(50, 4096).finish(0, None);
    assert!(events(&page).is_empty());
    let mut b = PageBuilder::new(50, 4096);
    b.event(1, &[1, 0]);
    b.push(&29u32.to_le_bytes());
    b.push(&[0xff; 12]);
    assert_eq!(events(&b.finish(0, None)).len(), 1);
}

#[test]
fn bad_pages_give_errors_with_offsets() {
    let mut page = PageBuilder::new(0, 64).event(1, &[1, 0, 0, 0]).finish(0, None);
    page[8] = 60; // commit larger than the page
    let e = Page::parse(&page, &PageLayout::LE64, 0).unwrap_err();
    assert!(matches!(e, ParseError::BadValue { what: "page commit size", .. }), "{e}");
    let mut page = PageBuilder::new(0, 64).event(1, &[1, 0, 0, 0]).finish(0, None);
    page[16] = 5 | (1 << 5); // type_len 5 = 20 bytes, only 4 in the commit
    let r: Vec<_> = Page::parse(&page, &PageLayout::LE64, 0).unwrap().items().collect();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0], Err(ParseError::Truncated { offset: 20, wanted: 20, available: 4, what: "event payload" }));
    assert!(Page::parse(&page[..10], &PageLayout::LE64, 0).is_err());
}

#[test]
fn header_texts() {
    let he = "# compressed entry header\n\ttype_len    :    5 bits\n\ttime_delta  :   27 bits\n\tarray       :   32 bits\n\n\tpadding     : type == 29\n\ttime_extend : type == 30\n\ttime_stamp : type == 31\n\tdata max type_len  == 28\n";
    check_header_event(he).unwrap();
    assert!(check_header_event(&he.replace("27 bits", "26 bits")).is_err());
    let hp32 = "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\tfield: local_t commit;\toffset:8;\tsize:4;\tsigned:1;\n\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n\tfield: char data;\toffset:12;\tsize:4084;\tsigned:0;\n";
    let l = PageLayout::from_header_page(hp32, Endian::Big).unwrap();
    assert_eq!((l.commit_size, l.data_offset), (4, 12));
}

#[test]
fn big_endian_page() {
    let mut p = vec![0u8; 64];
    p[..8].copy_from_slice(&100u64.to_be_bytes());
    p[8..12].copy_from_slice(&8u32.to_be_bytes());
    p[12..16].copy_from_slice(&((1u32 << 27) | 7).to_be_bytes()); // type_len 1, delta 7
    p[16..20].copy_from_slice(&[0, 9, 0, 0]);
    let layout = PageLayout { commit_size: 4, data_offset: 12, endian: Endian::Big, ..PageLayout::LE64 };
    let items: Vec<_> = Page::parse(&p, &layout, 1).unwrap().items().collect::<Result<_>>().unwrap();
    let PageItem::Event(e) = items[0] else { panic!() };
    assert_eq!((e.timestamp, e.id(Endian::Big).unwrap(), e.cpu), (107, 9, 1));
}
